"""python -m localthink"""

import sys

from localthink.cli import main

if __name__ == "__main__":
    sys.exit(main())
