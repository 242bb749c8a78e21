# Never finishes: the rig must kill QEMU at --timeout and fail.
echo "selftest: sleeping past the timeout"
sleep 3600
