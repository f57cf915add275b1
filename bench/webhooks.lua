-- wrk script: replay pre-generated, pre-signed webhook requests (wrk's Lua has no HMAC).
-- Thread N reads its own file "$SLA_BENCH_REQUESTS.N" (one request a line:
-- path TAB signature TAB delivery id TAB body) and cycles through it, so no two threads send the
-- same request; a thread that runs out starts over and counts a wrap (reported in RESULT).
local threads, counter = {}, 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix = os.getenv("SLA_BENCH_REQUESTS") or error("SLA_BENCH_REQUESTS is not set")
  local file = io.open(prefix .. "." .. tid, "r") or error("cannot open " .. prefix .. "." .. tid)
  reqs = {}
  for line in file:lines() do
    local path, signature, delivery, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if path then
      reqs[#reqs + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature"] = "sha256=" .. signature,
        ["X-Atlassian-Webhook-Identifier"] = delivery,
      }, body)
    end
  end
  file:close()
  if #reqs == 0 then error("no requests in " .. prefix .. "." .. tid) end
  nxt = 0
  wrapped = 0
end

request = function()
  nxt = nxt + 1
  if nxt > #reqs then
    nxt = 1
    wrapped = wrapped + 1
  end
  return reqs[nxt]
end

done = function(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("wrapped") or 0)
  end
  io.write(string.format('RESULT {"requests":%d,"seconds":%.3f,"non2xx":%d,"errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"wrapped":%d}\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), wraps))
end
