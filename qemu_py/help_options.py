"""QEMU 7.2's ``-h`` entries for the options qemu-py accepts, in QEMU's order.

Each entry is (section heading, option name, text); :func:`qemu_py.help.usage_text`
prints the entries whose option is in the parser's table, a blank line after
each section, as QEMU's ``help()`` does. Texts are QEMU's, except where qemu-py
differs (the default display, the accelerators, ``-run-with`` which QEMU 7.2
lacks).
"""

HELP_ENTRIES = (
    ('Standard options:', 'h',
     '-h or -help     display this help and exit\n'),
    ('Standard options:', 'version',
     '-version        display version information and exit\n'),
    ('Standard options:', 'machine',
     '-machine [type=]name[,prop[=value][,...]]\n'
     "                selects emulated machine ('-machine help' for list)\n"
     '                property accel=accel1[:accel2[:...]] selects accelerator\n'
     '                supported accelerators are kvm, qtest or tcg (default: tcg)\n'),
    ('Standard options:', 'cpu',
     "-cpu cpu        select CPU ('-cpu help' for list)\n"),
    ('Standard options:', 'accel',
     '-accel [accel=]accelerator[,prop[=value][,...]]\n'
     "                select accelerator (kvm, qtest or tcg; use 'help' for a list)\n"),
    ('Standard options:', 'smp',
     '-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,clusters=clusters][,cores=cores][,threads=threads]\n'
     "                set the number of initial CPUs to 'n' [default=1]\n"
     '                maxcpus= maximum number of total CPUs, including\n'
     '                offline CPUs for hotplug, etc\n'
     '                sockets= number of sockets on the machine board\n'
     '                dies= number of dies in one socket\n'
     '                clusters= number of clusters in one die\n'
     '                cores= number of cores in one cluster\n'
     '                threads= number of threads in one core\n'
     'Note: Different machines may have different subsets of the CPU topology\n'
     '      parameters supported, so the actual meaning of the supported parameters\n'
     '      will vary accordingly. For example, for a machine type that supports a\n'
     '      three-level CPU hierarchy of sockets/cores/threads, the parameters will\n'
     '      sequentially mean as below:\n'
     '                sockets means the number of sockets on the machine board\n'
     '                cores means the number of cores in one socket\n'
     '                threads means the number of threads in one core\n'
     '      For a particular machine type board, an expected CPU topology hierarchy\n'
     '      can be defined through the supported sub-option. Unsupported parameters\n'
     '      can also be provided in addition to the sub-option, but their values\n'
     '      must be set as 1 in the purpose of correct parsing.\n'),
    ('Standard options:', 'global',
     '-global driver.property=value\n'),
    ('Standard options:', 'global',
     '-global driver=driver,property=property,value=value\n'
     '                set a global default for a driver property\n'),
    ('Standard options:', 'm',
     '-m [size=]megs[,slots=n,maxmem=size]\n'
     '                configure guest RAM\n'
     '                size: initial amount of guest memory\n'
     '                slots: number of hotplug slots (default: none)\n'
     '                maxmem: maximum amount of guest memory (default: none)\n'
     'NOTE: Some architectures might enforce a specific granularity\n'),
    ('Standard options:', 'audio',
     '-audio [driver=]driver,model=value[,prop[=value][,...]]\n'
     '                specifies the audio backend and device to use;\n'
     "                apart from 'model', options are the same as for -audiodev.\n"
     "                use '-audio model=help' to show possible devices.\n"),
    ('Standard options:', 'device',
     '-device driver[,prop[=value][,...]]\n'
     '                add device (based on driver)\n'
     '                prop=value,... sets driver properties\n'
     "                use '-device help' to print all possible drivers\n"
     "                use '-device driver,help' to print all possible properties\n"),
    ('Standard options:', 'name',
     '-name string1[,process=string2][,debug-threads=on|off]\n'
     '                set the name of the guest\n'
     '                string1 sets the window title and string2 the process name\n'
     '                When debug-threads is enabled, individual threads are given a separate name\n'
     '                NOTE: The thread names are for debugging and not a stable API.\n'),
    ('Display options:', 'display',
     '-display none\n'
     '                select display backend type\n'
     '                The default display is equivalent to\n'
     '                "-display none"\n'),
    ('Display options:', 'nographic',
     '-nographic      disable graphical output and redirect serial I/Os to console\n'),
    ('Display options:', 'vga',
     '-vga [none]\n'
     '                select video card type\n'),
    ('Character device options:', 'chardev',
     '-chardev help\n'),
    ('Character device options:', 'chardev',
     '-chardev null,id=id[,mux=on|off][,logfile=PATH][,logappend=on|off]\n'),
    ('Character device options:', 'chardev',
     '-chardev socket,id=id[,host=host],port=port[,to=to][,ipv4=on|off][,ipv6=on|off][,nodelay=on|off]\n'
     '         [,server=on|off][,wait=on|off][,telnet=on|off][,websocket=on|off][,reconnect=seconds][,mux=on|off]\n'
     '         [,logfile=PATH][,logappend=on|off][,tls-creds=ID][,tls-authz=ID] (tcp)\n'),
    ('Character device options:', 'chardev',
     '-chardev socket,id=id,path=path[,server=on|off][,wait=on|off][,telnet=on|off][,websocket=on|off][,reconnect=seconds]\n'
     '         [,mux=on|off][,logfile=PATH][,logappend=on|off][,abstract=on|off][,tight=on|off] (unix)\n'),
    ('Character device options:', 'chardev',
     '-chardev file,id=id,path=path[,mux=on|off][,logfile=PATH][,logappend=on|off]\n'),
    ('Character device options:', 'chardev',
     '-chardev pipe,id=id,path=path[,mux=on|off][,logfile=PATH][,logappend=on|off]\n'),
    ('Character device options:', 'chardev',
     '-chardev stdio,id=id[,mux=on|off][,signal=on|off][,logfile=PATH][,logappend=on|off]\n'),
    ('Boot Image or Kernel specific:', 'kernel',
     "-kernel bzImage use 'bzImage' as kernel image\n"),
    ('Boot Image or Kernel specific:', 'append',
     "-append cmdline use 'cmdline' as kernel command line\n"),
    ('Boot Image or Kernel specific:', 'initrd',
     "-initrd file    use 'file' as initial ram disk\n"),
    ('Debug/Expert options:', 'serial',
     "-serial dev     redirect the serial port to char device 'dev'\n"),
    ('Debug/Expert options:', 'monitor',
     "-monitor dev    redirect the monitor to char device 'dev'\n"),
    ('Debug/Expert options:', 'qmp',
     "-qmp dev        like -monitor but opens in 'control' mode\n"),
    ('Debug/Expert options:', 'qmp-pretty',
     '-qmp-pretty dev like -qmp but uses pretty JSON formatting\n'),
    ('Debug/Expert options:', 'mon',
     '-mon [chardev=]name[,mode=readline|control][,pretty[=on|off]]\n'),
    ('Debug/Expert options:', 'preconfig',
     '--preconfig     pause QEMU before machine is initialized (experimental)\n'),
    ('Debug/Expert options:', 'S',
     "-S              freeze CPU at startup (use 'c' to start execution)\n"),
    ('Debug/Expert options:', 'gdb',
     "-gdb dev        accept gdb connection on 'dev'. (QEMU defaults to starting\n"
     '                the guest without waiting for gdb to connect; use -S too\n'
     '                if you want it to not start execution.)\n'),
    ('Debug/Expert options:', 's',
     '-s              shorthand for -gdb tcp::1234\n'),
    ('Debug/Expert options:', 'd',
     "-d item1,...    enable logging of specified items (use '-d help' for a list of log items)\n"),
    ('Debug/Expert options:', 'D',
     '-D logfile      output log to logfile (default stderr)\n'),
    ('Debug/Expert options:', 'enable-kvm',
     '-enable-kvm     enable KVM full virtualization support\n'),
    ('Debug/Expert options:', 'no-reboot',
     '-no-reboot      exit instead of rebooting\n'),
    ('Debug/Expert options:', 'no-shutdown',
     '-no-shutdown    stop before shutdown\n'),
    ('Debug/Expert options:', 'rtc',
     '-rtc [base=utc|localtime|<datetime>][,clock=host|rt|vm][,driftfix=none|slew]\n'
     '                set the RTC base and clock, enable drift fix for clock ticks (x86 only)\n'),
    ('Debug/Expert options:', 'icount',
     '-icount [shift=N|auto][,align=on|off][,sleep=on|off][,rr=record|replay,rrfile=<filename>[,rrsnapshot=<snapshot>]]\n'
     '                enable virtual instruction counter with 2^N clock ticks per\n'
     '                instruction, enable aligning the host and virtual clocks\n'
     '                or disable real time cpu sleeping, and optionally enable\n'
     '                record-and-replay mode\n'),
    ('Debug/Expert options:', 'run-with',
     '-run-with [async-teardown=on|off][,chroot=dir][,user=username|uid:gid][,exit-with-parent=on|off]\n'
     '                set miscellaneous process lifecycle options (qemu-py acts on\n'
     '                exit-with-parent only; the others are accepted and ignored)\n'),
    ('Debug/Expert options:', 'nodefaults',
     "-nodefaults     don't create default devices\n"),
    ('Debug/Expert options:', 'no-user-config',
     '-no-user-config\n'
     '                do not load default user-provided config files at startup\n'),
    ('Debug/Expert options:', 'trace',
     '-trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n'
     '                specify tracing options\n'),
    ('Generic object creation:', 'object',
     '-object TYPENAME[,PROP1=VALUE1,...]\n'
     '                create a new object of type TYPENAME setting properties\n'
     "                in the order they are specified.  Note that the 'id'\n"
     '                property must be set.  These objects are placed in the\n'
     "                '/objects' path.\n"),
)
