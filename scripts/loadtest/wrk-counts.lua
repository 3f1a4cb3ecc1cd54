-- wrk script for scripts/loadtest.sh: counts responses per HTTP status and
-- stops each thread after a maximum number of responses.
--
-- Settings come from the environment, because wrk decides whether a script
-- builds each request itself while loading it, before `init` receives the
-- script arguments:
--   LOADTEST_WRK_MODE       `plain` (the request wrk builds from -H, no
--                           per-request Lua), `random-kid` (a bearer token
--                           whose `kid` header is random per request) or
--                           `invalid-api-key` (a random, well-formed but
--                           unknown API key per request)
--   LOADTEST_MAX_RESPONSES  responses per thread before it stops; 0: no limit
--   LOADTEST_TOKEN_PAYLOAD  random-kid only: base64url of the token payload
--
-- `done` prints one `status <code> <count>` line per status, plus
-- `responses <count>`, for the shell script to parse.

local threads = {}
local next_thread_id = 0

function setup(thread)
   next_thread_id = next_thread_id + 1
   thread:set("thread_id", next_thread_id)
   table.insert(threads, thread)
end

local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local HEX = "0123456789abcdef"

-- Base64url without padding, as JWS compact serialization uses.
local function base64url(data)
   local out = {}
   for i = 1, #data, 3 do
      local a, b, c = data:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
      for j = 1, chars do
         local shift = 18 - 6 * (j - 1)
         local index = math.floor(n / 2 ^ shift) % 64
         out[#out + 1] = B64URL:sub(index + 1, index + 1)
      end
   end
   return table.concat(out)
end

local function random_hex(length)
   local out = {}
   for i = 1, length do
      local index = math.random(1, 16)
      out[i] = HEX:sub(index, index)
   end
   return table.concat(out)
end

local mode = os.getenv("LOADTEST_WRK_MODE") or "plain"
local max_responses = tonumber(os.getenv("LOADTEST_MAX_RESPONSES") or "0") or 0
local payload = os.getenv("LOADTEST_TOKEN_PAYLOAD")
-- An Ed25519 signature is 64 bytes: 86 base64url characters.
local signature = string.rep("A", 86)
local responses = 0
counts = {}

if mode ~= "plain" and mode ~= "random-kid" and mode ~= "invalid-api-key" then
   error("unknown LOADTEST_WRK_MODE " .. mode)
end
if mode == "random-kid" and not payload then
   error("random-kid mode needs LOADTEST_TOKEN_PAYLOAD")
end

function init(args)
   math.randomseed(os.time() * 1000 + (thread_id or 0))
end

-- wrk sends its prebuilt request unless the script defines `request`, so
-- plain mode leaves it undefined and adds no per-request Lua call.
if mode ~= "plain" then
   function request()
      local headers = {}
      if mode == "random-kid" then
         local header = '{"alg":"EdDSA","typ":"JWT","kid":"' .. random_hex(16) .. '"}'
         headers["Authorization"] = "Bearer " .. base64url(header) .. "." .. payload .. "." .. signature
      elseif mode == "invalid-api-key" then
         headers["X-API-Key"] = random_hex(32)
      end
      return wrk.format(nil, nil, headers)
   end
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
   responses = responses + 1
   if max_responses > 0 and responses >= max_responses then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total = {}
   local sum = 0
   for _, thread in ipairs(threads) do
      local thread_counts = thread:get("counts")
      for status, count in pairs(thread_counts) do
         total[status] = (total[status] or 0) + count
         sum = sum + count
      end
   end
   for status, count in pairs(total) do
      io.write(string.format("status %d %d\n", status, count))
   end
   io.write(string.format("responses %d\n", sum))
end
