import sys

from enrollment_monitor.cli import main

sys.exit(main())
