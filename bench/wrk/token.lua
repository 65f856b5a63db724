-- POST /auth/token with the right password of one seeded user after another: wrong ones would get the email
-- locked (429), and one email alone would queue every login behind that email's lock.
require "common"

local logins = lines("logins.txt")
local at

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init()
   at = start(logins)
end

function request()
   at = at % #logins + 1
   return wrk.format(nil, nil, nil, logins[at])
end
