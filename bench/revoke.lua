-- wrk script: each request revokes a different token from tokens.txt (one per line), so the revoke path does real work.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local counter = 0
local threads = 0
setup = function(thread) thread:set("offset", threads); threads = threads + 1 end
init = function(args) counter = offset end
request = function()
  counter = counter + 4
  local t = tokens[(counter % #tokens) + 1]
  return wrk.format("GET", os.getenv("REVOKE_PATH") .. "&revoke_token=" .. t)
end
