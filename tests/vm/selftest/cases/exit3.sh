# The rig must fail and carry this status out of the guest.
echo "selftest: exiting 3"
exit 3
