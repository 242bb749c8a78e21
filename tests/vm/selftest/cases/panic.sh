# A real kernel crash (sysrq 'c' panics the guest kernel): the rig must fail
# at once, not at the timeout, and name the panic from the kernel log.
echo "selftest: crashing the kernel"	# may be lost with the kernel
echo c >/proc/sysrq-trigger
sleep 3600	# not reached
