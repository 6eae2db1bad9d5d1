#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe)
through the gateway's status page: login (wrong token first), read the page's
facts from the DOM, phone-sized screenshot, lift one ban, log out. Prints one
JSON object of facts; the Rust test asserts on them. Standard library only.

usage: cdp.py CHROMIUM BASE_URL TOKEN BAN_TO_LIFT SCREENSHOT.png PROFILE_DIR
"""
import base64, fcntl, json, os, subprocess, sys, time

chromium, base, token, lift_ip, shot, profile = sys.argv[1:7]

r_in, w_in = os.pipe()    # we write commands, chromium reads fd 3
r_out, w_out = os.pipe()  # chromium writes fd 4, we read
hi_r = fcntl.fcntl(r_in, fcntl.F_DUPFD, 10)
hi_w = fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)


def child_fds():
    os.dup2(hi_r, 3)
    os.dup2(hi_w, 4)


proc = subprocess.Popen(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
     "--no-first-run", "--disable-background-networking", "--disable-component-update",
     "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-pipe",
     "about:blank"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    stderr=open(os.path.join(profile, "chromium.log"), "wb"),
    preexec_fn=child_fds, close_fds=False)
os.close(r_in); os.close(w_out); os.close(hi_r); os.close(hi_w)

buf = b""
next_id = 0
events = []
session = None
DEADLINE = time.time() + 40


def send(method, params=None, sid=True):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if sid and session:
        msg["sessionId"] = session
    os.write(w_in, json.dumps(msg).encode() + b"\0")
    return next_id


def recv():
    global buf
    while b"\0" not in buf:
        if time.time() > DEADLINE:
            raise SystemExit("timed out talking to chromium")
        chunk = os.read(r_out, 65536)
        if not chunk:
            raise SystemExit("chromium closed the pipe")
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    return json.loads(msg)


def call(method, params=None, sid=True):
    want = send(method, params, sid)
    while True:
        m = recv()
        if m.get("id") == want:
            if "error" in m:
                raise SystemExit(f"{method}: {m['error']}")
            return m.get("result", {})
        events.append(m)


def wait_load():
    while True:
        for i, e in enumerate(events):
            if e.get("method") == "Page.loadEventFired":
                del events[: i + 1]
                return
        events.append(recv())


def ev(expr):
    r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
    if "exceptionDetails" in r:
        raise SystemExit(f"script failed: {expr}: {r['exceptionDetails']}")
    return r["result"].get("value")


def navigate(url):
    events.clear()
    call("Page.navigate", {"url": url})
    wait_load()


def act(expr):
    """Runs expr (which submits a form) and waits for the next page."""
    events.clear()
    ev(expr)
    wait_load()


FACTS_JS = r"""(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  return {
    title: document.title,
    url: location.href,
    script: document.documentElement.dataset.script || null,
    login_form: !!document.querySelector('form#login'),
    message: (document.querySelector('#message') || {}).textContent || null,
    notice: (document.querySelector('#notice') || {}).textContent || null,
    backends: q('tr.backend').map(r => ({pool: r.dataset.pool, backend: r.dataset.backend,
      state: r.dataset.state, serving: r.dataset.serving, latency: r.cells[4].textContent})),
    chart_total: document.querySelector('#chart') ? +document.querySelector('#chart').dataset.total : null,
    series: q('#chart polyline.series').map(p => ({command: p.dataset.command, total: +p.dataset.total})),
    refusals: q('tr.refusal').map(r => ({reason: r.dataset.reason, count: +r.dataset.count})),
    bans: q('tr.ban').map(r => r.dataset.source),
    lift_buttons: q('tr.ban button.lift').length,
    csrf_fields: q('input[name=csrf]').map(i => i.value.length),
    certs: q('tr.cert').map(r => ({listener: r.dataset.listener, days_left: r.dataset.daysLeft,
      error: r.dataset.error || null, subject: r.cells[1].textContent})),
    audit_score: document.querySelector('#audit-score') ? document.querySelector('#audit-score').dataset.score : null,
    audit_failing: q('#audit tr.failing').map(r => r.dataset.id),
    audit_missing: !!document.querySelector('#audit-missing'),
    audit_error: !!document.querySelector('#audit-error'),
    external_resources: performance.getEntriesByType('resource').map(e => e.name),
    cookie_visible_to_script: document.cookie,
    fits_phone: document.documentElement.scrollWidth <= window.innerWidth + 1,
  };
})()"""

out = {}
try:
    target = call("Target.createTarget", {"url": "about:blank"}, sid=False)["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True}, sid=False)["sessionId"]
    call("Page.enable")
    call("Runtime.enable")
    call("Emulation.setDeviceMetricsOverride",
         {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})

    navigate(base + "/ui")
    out["before_login"] = ev(FACTS_JS)

    act("document.querySelector('#token').value='wrong-token-123456';document.querySelector('#login').submit()")
    out["wrong_token"] = ev(FACTS_JS)

    act("document.querySelector('#token').value=%s;document.querySelector('#login').submit()" % json.dumps(token))
    out["logged_in"] = ev(FACTS_JS)
    # Legend click hides a line (the inline script works under the CSP).
    out["legend_toggles"] = ev("""(() => {const li=document.querySelector('ul.legend li[data-series]');
      if(!li) return null; li.click();
      return document.querySelectorAll('#chart polyline.series')[0].getAttribute('visibility');})()""")
    ev("document.querySelector('ul.legend li[data-series]') && document.querySelector('ul.legend li[data-series]').click()")
    png = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))

    act("document.querySelector('tr.ban[data-source=%s] button.lift').click()" % json.dumps(lift_ip))
    out["after_lift"] = ev(FACTS_JS)

    act("document.querySelector('#logout').click()")
    out["after_logout"] = ev(FACTS_JS)
    navigate(base + "/ui")
    out["after_logout_reload"] = ev(FACTS_JS)
finally:
    try:
        send("Browser.close", sid=False)
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
        proc.wait()
print(json.dumps(out))
