# A kernel WARNING (faked through /dev/kmsg) must fail the rig although the
# script itself succeeds.
echo "WARNING: CPU: 0 PID: 1 at selftest" >/dev/kmsg
echo "PASS selftest/warned"
exit 0
