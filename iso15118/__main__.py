import sys

from iso15118.cli import main

sys.exit(main())
