-- POST /jobs/{id}/proposals: each thread is a freelancer of its own (line WRK_SLOT + index + 1 of tokens.txt)
-- walking through the jobs, so every request is a new (job, freelancer) pair: a second live proposal of the
-- same freelancer on the same job would be a 409. The URL's path ends in "/jobs/".
require "common"

local ids = lines("jobs.txt")
local tokens = lines("tokens.txt")
local at

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = lines("proposal.json")[1]

function init()
   wrk.headers["Authorization"] = "Bearer " .. tokens[tonumber(os.getenv("WRK_SLOT")) + index + 1]
   at = start(ids)
end

function request()
   at = at % #ids + 1
   return wrk.format(nil, wrk.path .. ids[at] .. "/proposals")
end
