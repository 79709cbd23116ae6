import sys

from twitchlog.cli.root import main

sys.exit(main())
