# Control: a script that passes must leave the rig green.
echo "PASS selftest/ok"
exit 0
