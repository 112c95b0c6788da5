#!/bin/sh
# Reports each test of an ipcsuite results.ktap to LAVA: one `lava-test-case NAME --result pass|fail|skip`
# per KTAP result line (top level, or each target's subtest of a multi-target run, named <target>.<test>).
# Usage: lava-test-cases.sh results/latest/results.ktap
set -eu
ktap=${1:?usage: lava-test-cases.sh RESULTS.ktap}
[ -r "$ktap" ] || { echo "lava-test-cases.sh: cannot read $ktap" >&2; exit 2; }
subtest=""
while IFS= read -r line; do
  case "$line" in
    "    # Subtest: "*) subtest=${line#    \# Subtest: } ; continue ;;
    "    ok "*|"    not ok "*) indent="    " ;;
    "ok "*|"not ok "*) indent="" ;;
    *) continue ;;
  esac
  body=${line#"$indent"}
  # a top-level line that closes a target's subtest is that target's verdict, not a test
  if [ -z "$indent" ] && [ -n "$subtest" ]; then subtest=""; continue; fi
  case "$body" in
    "not ok "*) result=fail; rest=${body#not ok } ;;
    *) result=pass; rest=${body#ok } ;;
  esac
  rest=${rest#* }                 # drop the number
  name=${rest%% \#*}              # before the directive
  case "$rest" in
    *" # SKIP"*) result=skip ;;
    *" # TODO"*) [ "$result" = fail ] && result=pass || result=fail ;;  # an expected failure is no failure
  esac
  lava-test-case "${subtest:+$subtest.}$name" --result "$result"
done < "$ktap"
