"""test_transcribe_workers.py with the index on a throwaway PostgreSQL:
two worker processes over one queue, each job exactly once (two nodes on
one PostgreSQL index claim the same way)."""
import os
import subprocess
import sys

sys.exit(subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "test_transcribe_workers.py"), "--pg"]).returncode)
