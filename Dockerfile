# An image with the suite built and ready to run (Debian 12, as the project is tested on).
#   docker build -t ipcsuite .          (or: podman build -t ipcsuite .)
#   docker run --rm --privileged -v "$PWD/results:/results" ipcsuite
# --privileged: the suite makes IPC, user and PID namespaces and uses seccomp; without it, those tests are
# skipped with the reason (never failed). Results (results.json, junit.xml, results.ktap, report.html) go to
# /results/latest/ in the container.
FROM debian:bookworm
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /opt/ipcsuite
WORKDIR /opt/ipcsuite
# Installs the Debian packages the build needs (runner/deps.py) and builds into build/; `list --json` is
# the cheapest command that does both and proves the binaries run.
RUN ./ipcsuite list --json > /dev/null \
 && rm -rf /var/lib/apt/lists/* results
ENTRYPOINT ["/opt/ipcsuite/ipcsuite"]
CMD ["run", "--results-dir", "/results"]
