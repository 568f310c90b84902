-- wrk script: each request presents a token picked at random out of every live token the benchmark stored
-- (WS_FILE: one "<token> <appsecret_proof>" a line, written by bench_populate), so the server's working set is all of
-- them. WS_MODE=me asks GET /me with the token's appsecret_proof; WS_MODE=debug asks GET /debug_token about it
-- with the app token WS_APP_TOKEN. WS_ORDER=walk instead walks each thread's tokens in order, once, then creates
-- the file "$WS_DONE.<thread>" and stops (a warm-up pass that asks for every live token once; run it with a long -d
-- and end it when every thread's file is there).
--
-- Memory: the file is read in init(), which runs once per wrk thread (not at the top level, which every Lua state
-- of wrk runs, the main one included), and each of the WS_THREADS threads keeps only its share of the lines (every
-- WS_THREADS-th), as the request path it will send (about 0.3 KB a token kept); with 1e6 tokens wrk peaks at about
-- 0.7 GB (VmHWM 678 MB measured, the lines read and not kept included). Together the threads cover every token;
-- each picks uniformly among its own.
local paths = {}
local threads = 0
setup = function(thread) thread:set("id", threads); threads = threads + 1 end
init = function(args)
  local n = tonumber(os.getenv("WS_THREADS") or "2")
  local mode = os.getenv("WS_MODE") or "me"
  local app_token = os.getenv("WS_APP_TOKEN") or ""
  local i = 0
  for line in io.lines(os.getenv("WS_FILE")) do
    if i % n == id then
      local token, proof = line:match("^(%S+) (%S+)$")
      if mode == "debug" then
        paths[#paths + 1] = "/v25.0/debug_token?input_token=" .. token .. "&access_token=" .. app_token
      else
        paths[#paths + 1] = "/v25.0/me?access_token=" .. token .. "&appsecret_proof=" .. proof
      end
    end
    i = i + 1
  end
  math.randomseed(os.time() + id * 7919)
end
local walk = os.getenv("WS_ORDER") == "walk"
local sent, answered = 0, 0
request = function()
  if walk then
    sent = sent % #paths + 1
    return wrk.format("GET", paths[sent])
  end
  return wrk.format("GET", paths[math.random(#paths)])
end
if walk then
  response = function(status, headers, body)
    answered = answered + 1
    if answered == #paths then
      -- wrk runs for its whole -d whatever the threads do: the thread says it is done in a file the harness waits for.
      io.open(os.getenv("WS_DONE") .. "." .. id, "w"):close()
      wrk.thread:stop()
    end
  end
end
