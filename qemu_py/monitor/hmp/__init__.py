"""The human monitor (HMP): readline front end, command table, xp/x and info.

``run_command_line(vm, text)`` runs one command line and returns its output
(``human-monitor-command``); ``HMPMonitor`` serves ``-monitor DEV`` /
``-mon chardev=ID,mode=readline`` with QEMU's banner, prompt and echo.
"""
