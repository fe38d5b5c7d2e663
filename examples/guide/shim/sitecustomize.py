# Loaded by Python at start-up when this directory is on PYTHONPATH (tests/examples.test.ts puts it there), so
# that the guide's scripts run unchanged against a test server:
# - every request to http://127.0.0.1:8000 goes to OC_GUIDE_SERVER instead;
# - the recovery recipe's placeholder job id, "job-123", becomes OC_GUIDE_JOB;
# - time.sleep waits at most OC_GUIDE_MAX_SLEEP seconds (Example 1 polls every 5 s);
# - each request (method, url, JSON body, answer status) is appended as a JSON line to OC_GUIDE_LOG.
import json
import os
import time

GUIDE_SERVER = "http://127.0.0.1:8000"
server = os.environ.get("OC_GUIDE_SERVER")
job = os.environ.get("OC_GUIDE_JOB")
log = os.environ.get("OC_GUIDE_LOG")
max_sleep = float(os.environ.get("OC_GUIDE_MAX_SLEEP", "0.2"))

_sleep = time.sleep
time.sleep = lambda seconds: _sleep(min(seconds, max_sleep))

try:
    import requests.sessions
except ImportError:  # the test says requests is missing before it starts a script
    requests = None

if requests is not None and server:
    _request = requests.sessions.Session.request

    def request(self, method, url, *args, **kwargs):
        if url.startswith(GUIDE_SERVER):
            url = server + url[len(GUIDE_SERVER):]
        if job:
            url = url.replace("/batch/jobs/job-123", "/batch/jobs/" + job)
        response = _request(self, method, url, *args, **kwargs)
        if log:
            with open(log, "a", encoding="utf-8") as f:
                entry = {"method": method, "url": url, "json": kwargs.get("json"), "status": response.status_code}
                f.write(json.dumps(entry) + "\n")
        return response

    requests.sessions.Session.request = request
