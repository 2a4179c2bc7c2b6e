"""The sections of scripts/bench.py, one module each, all writing to one `report.Report`.

The modules import scripts/stack.py as `stack`: scripts/ must be on sys.path, as bench.py sees to.
"""
import urllib3

# Every request the bench makes goes to a local server with a self-signed certificate.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
