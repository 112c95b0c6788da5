"""The qemu target: static test binaries in an initramfs, booted with a given kernel (see vm.py, init.c)."""
