-- wrk script: every request is one vote by a distinct voter.
-- Arguments (after --): mode (form|json), cookie file, choice id, csrf token, threads,
-- and the one status that means "vote accepted" (303 for the form, 202 for the API):
-- any other status, 3xx included, is counted as not accepted.
-- Each line of the cookie file is a Django-signed voter cookie value; thread k of n takes
-- lines k, k+n, k+2n, ... so no two requests of a run share a voter. When a thread runs
-- out of cookies it stops (the run is then shorter than -d, and the wrapper says so).

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  local cookie_file = args[2]
  local choice = args[3]
  csrf = args[4]
  local nthreads = tonumber(args[5])
  ok_status = tonumber(args[6])
  ok = 0
  other = 0
  cookies = {}
  local i = 0
  for line in io.lines(cookie_file) do
    if i % nthreads == tid - 1 then
      cookies[#cookies + 1] = line
    end
    i = i + 1
  end
  used = 0
  exhausted = 0
  wrk.method = "POST"
  if mode == "json" then
    body = '{"choice": ' .. choice .. '}'
    ctype = "application/json"
  else
    -- Django's CSRF check reads the token from the form field for HTML posts.
    body = "csrfmiddlewaretoken=" .. csrf .. "&choice=" .. choice
    ctype = "application/x-www-form-urlencoded"
  end
end

function request()
  used = used + 1
  local voter = cookies[used]
  local cookie = "csrftoken=" .. csrf
  if voter == nil then
    -- No cookie: the site makes up a new voter, so votes stay one per voter.
    exhausted = 1
    wrk.thread:stop()
  else
    cookie = cookie .. "; voter=" .. voter
  end
  local headers = {
    ["Content-Type"] = ctype,
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = csrf,
  }
  return wrk.format("POST", wrk.path, headers, body)
end

function response(status, headers, body)
  if status == ok_status then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local sent, ran_out, accepted, refused = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("used")
    ran_out = ran_out + thread:get("exhausted")
    accepted = accepted + thread:get("ok")
    refused = refused + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
    '"cookies_used": %d, "cookies_exhausted": %d, "ok": %d, "other": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, sent, ran_out, accepted, refused))
end
