-- wrk script of the queue benchmark (run.py sets the environment).
-- BENCH_COOKIE: the session cookie; BENCH_EXPECT: the status every response must have;
-- BENCH_IDS (optional): a file with one case id per line, BENCH_PATH a format with %d:
-- each thread walks its own share of the ids, so no two requests open the same case.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
  expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
  bad = 0
  ids = {}
  local file = os.getenv("BENCH_IDS")
  if file and file ~= "" then
    for line in io.lines(file) do ids[#ids + 1] = line end
  end
  path = os.getenv("BENCH_PATH")
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  n = tid
end

function request()
  if #ids > 0 then
    local id = ids[(n % #ids) + 1]
    n = n + step
    return wrk.format("GET", string.format(path, id))
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status ~= expect then bad = bad + 1 end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "wrong_status": %d, "socket_errors": %d, ' ..
    '"mean_ms": %.1f, "p50_ms": %.1f, "p90_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, ' ..
    '"max_ms": %.1f}\n',
    summary.requests, summary.duration / 1e6, wrong,
    e.connect + e.read + e.write + e.timeout, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
