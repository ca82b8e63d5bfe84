-- Sluice's rate-limit and budget counters: applies a node's pending adjustments, then admits
-- one call on its counters, all or nothing. See `store::limits` for the semantics and
-- `store_redis::limits` for the caller.
--
-- KEYS: the pending adjustments' keys, then the counters' keys; all in one hash slot (one
-- Redis Cluster hash tag), which the caller guarantees.
-- ARGV: "1" (the layout's version), P (adjustments), C (counters), the call id, then four
-- arguments per adjustment and four per counter:
--   adjustment  's' span_ms index delta | 'p' ends_at_ms "" delta | 'r' days day delta
--               | 'f' member "" "" | 'b' memory_ms "" ""
-- A 'b' adjustment marks the ones after it (up to the next mark) as one batch, applied at
-- most once: its key is set for memory_ms, and a batch whose mark is already set is skipped
-- (it was applied by an earlier sending whose reply was lost).
--   counter     's' limit take span_ms | 'p' limit take ends_at_ms | 'r' limit take days
--               | 'f' limit take lease_ms
-- Numbers are decimal integers below 10^15 (exact in Lua's doubles); anything else is an
-- error, never a 0.
-- Reply: { admitted (1/0), now_ms, refused (1-based index, 0: none), retry_after_ms,
-- exceeds_limit (1/0), then per counter: used, remaining, reset_ms, bucket }, where bucket is
-- a sliding window's index or a rolling window's day (0 otherwise).

local DAY = 86400000
local GRACE = 3600000

local function fail(what, value)
  error({ err = 'ERR sluice limits: bad ' .. what .. ' `' .. tostring(value) .. '`' })
end

local function uint(value, what)
  if type(value) ~= 'string' or #value > 15 or not string.match(value, '^%d+$') then
    fail(what, value)
  end
  return tonumber(value)
end

local function int(value, what)
  if type(value) ~= 'string' or #value > 16 or not string.match(value, '^%-?%d+$')
    or value == '-' then
    fail(what, value)
  end
  return tonumber(value)
end

-- Exact floor(a / b) for non-negative integers below 2^53 (a double division may round up).
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

local function ceil_div(a, b)
  if a <= 0 then
    return 0
  end
  return idiv(a + b - 1, b)
end

if ARGV[1] ~= '1' then
  fail('layout version', ARGV[1])
end
local n_pending = uint(ARGV[2], 'adjustment count')
local n_counters = uint(ARGV[3], 'counter count')
local call_id = ARGV[4]
if #KEYS ~= n_pending + n_counters then
  fail('key count', #KEYS)
end
if #ARGV ~= 4 + 4 * (n_pending + n_counters) then
  fail('argument count', #ARGV)
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Adds `delta` to `field` of hash `key`, never below 0; a decrease of nothing does nothing.
local function hash_add(key, field, delta)
  if delta >= 0 then
    redis.call('HINCRBY', key, field, delta)
    return true
  end
  if redis.call('HEXISTS', key, field) == 0 then
    return false
  end
  if redis.call('HINCRBY', key, field, delta) < 0 then
    redis.call('HSET', key, field, 0)
  end
  return true
end

-- Every argument is checked before anything is written: a malformed call changes nothing.
local adjustments = {}
for i = 1, n_pending do
  local base = 4 + (i - 1) * 4
  local kind, a, b, c = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local op = { kind = kind, key = KEYS[i] }
  if kind == 's' then
    op.span, op.index, op.delta = uint(a, 'span'), uint(b, 'bucket'), int(c, 'delta')
    if op.span == 0 then
      fail('span', a)
    end
  elseif kind == 'p' then
    op.ends_at, op.delta = uint(a, 'period end'), int(c, 'delta')
  elseif kind == 'r' then
    op.days, op.day, op.delta = uint(a, 'days'), uint(b, 'day'), int(c, 'delta')
  elseif kind == 'f' then
    op.member = a
  elseif kind == 'b' then
    op.memory = uint(a, 'batch memory')
    if op.memory == 0 then
      fail('batch memory', a)
    end
  else
    fail('adjustment kind', kind)
  end
  adjustments[i] = op
end
local asked = {}
for i = 1, n_counters do
  local base = 4 + (n_pending + i - 1) * 4
  local kind = ARGV[base + 1]
  if kind ~= 's' and kind ~= 'p' and kind ~= 'r' and kind ~= 'f' then
    fail('counter kind', kind)
  end
  local st = {
    kind = kind,
    key = KEYS[n_pending + i],
    limit = uint(ARGV[base + 2], 'limit'),
    take = uint(ARGV[base + 3], 'take'),
    param = uint(ARGV[base + 4], 'window'),
  }
  if st.param == 0 and (kind == 's' or kind == 'r') then
    fail('window', ARGV[base + 4])
  end
  asked[i] = st
end

-- Adjustments, in order. Each touches its bucket only while the bucket still counts, so an
-- expired key is never brought back, and every write sets the key's expiry.
local skipping = false
for _, op in ipairs(adjustments) do
  local key = op.key
  if op.kind == 'b' then
    skipping = not redis.call('SET', key, '1', 'NX', 'PX', op.memory)
  elseif skipping then
    -- This batch was applied already.
  elseif op.kind == 's' then
    local current = idiv(now, op.span)
    if op.delta ~= 0 and op.index + 1 >= current and op.index <= current then
      if hash_add(key, tostring(op.index), op.delta) then
        redis.call('HDEL', key, tostring(current - 2), tostring(current - 3))
        redis.call('PEXPIREAT', key, (current + 2) * op.span)
      end
    end
  elseif op.kind == 'p' then
    local until_ms = op.ends_at + GRACE
    if op.delta ~= 0 and now < until_ms then
      if op.delta > 0 then
        redis.call('INCRBY', key, op.delta)
        redis.call('PEXPIREAT', key, until_ms)
      elseif redis.call('EXISTS', key) == 1 then
        if redis.call('INCRBY', key, op.delta) < 0 then
          redis.call('SET', key, 0, 'KEEPTTL')
        end
      end
    end
  elseif op.kind == 'r' then
    local today = idiv(now, DAY)
    if op.delta ~= 0 and op.day <= today and op.day + op.days > today then
      if hash_add(key, tostring(op.day), op.delta) then
        redis.call('PEXPIREAT', key, (today + op.days) * DAY)
      end
    end
  else
    redis.call('ZREM', key, op.member)
  end
end

-- Admission, first pass: every counter's state as it is, and the first that refuses.
local states = {}
local refused, retry_after, exceeds = 0, 0, 0
for i = 1, n_counters do
  local st = asked[i]
  local key, kind, limit, take, param = st.key, st.kind, st.limit, st.take, st.param
  local retry = nil -- nil: never, when refused
  local fits
  if kind == 's' then
    local span = param
    local current = idiv(now, span)
    local into = now - current * span
    local counts = redis.call('HMGET', key, tostring(current), tostring(current - 1))
    local cur = tonumber(counts[1] or '0') or 0
    local prev = tonumber(counts[2] or '0') or 0
    st.bucket, st.cur, st.prev, st.into = current, cur, prev, into
    st.used = cur + idiv(prev * (span - into), span)
    fits = st.used + take <= limit
    if not fits and take <= limit then
      -- When the estimate first fits (store::limits::arithmetic::sliding_retry).
      local room = limit - take
      local to_end = span - into
      if cur <= room then
        local allowed = (room - cur + 1) * span
        local t = ceil_div(prev * to_end - (allowed - 1), prev)
        if t < to_end then
          retry = t
        else
          retry = to_end
        end
      else
        local allowed = (room + 1) * span
        retry = to_end + ceil_div(cur * span - (allowed - 1), cur)
      end
    end
  elseif kind == 'p' then
    st.used = tonumber(redis.call('GET', key) or '0') or 0
    st.bucket = 0
    fits = st.used + take <= limit
    if take <= limit then
      retry = param - now
    end
  elseif kind == 'r' then
    local today = idiv(now, DAY)
    local first = today + 1 - param
    local flat = redis.call('HGETALL', key)
    local live, stale = {}, {}
    for j = 1, #flat, 2 do
      local day = tonumber(flat[j])
      local n = tonumber(flat[j + 1]) or 0
      if day ~= nil and day >= first and day <= today then
        if n > 0 then
          live[#live + 1] = { day, n }
        end
      else
        stale[#stale + 1] = flat[j]
      end
    end
    table.sort(live, function(x, y) return x[1] < y[1] end)
    local used = 0
    for _, it in ipairs(live) do
      used = used + it[2]
    end
    st.used, st.live, st.stale, st.bucket, st.today = used, live, stale, today, today
    fits = used + take <= limit
    if not fits and take <= limit then
      local left = used
      for _, it in ipairs(live) do
        if left + take <= limit then
          break
        end
        left = left - it[2]
        retry = (it[1] + param) * DAY - now
      end
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    st.used = redis.call('ZCARD', key)
    st.bucket = 0
    local need = 0
    if take > 0 then
      need = 1
    end
    fits = st.used + need <= limit
    if not fits and need <= limit then
      local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      retry = tonumber(first[2]) - now
    end
  end
  if take == 0 then
    fits = true
  end
  if not fits and refused == 0 then
    refused = i
    if retry == nil then
      exceeds = 1
      retry = 0
    end
    retry_after = math.max(retry, 1)
  end
  states[i] = st
end

-- Second pass, only when admitted: take from every counter.
if refused == 0 then
  for i = 1, n_counters do
    local st = states[i]
    local key, kind, take, param = st.key, st.kind, st.take, st.param
    if take > 0 then
      if kind == 's' then
        redis.call('HINCRBY', key, tostring(st.bucket), take)
        redis.call('HDEL', key, tostring(st.bucket - 2), tostring(st.bucket - 3))
        redis.call('PEXPIREAT', key, (st.bucket + 2) * param)
        st.cur = st.cur + take
        st.used = st.used + take
      elseif kind == 'p' then
        redis.call('INCRBY', key, take)
        redis.call('PEXPIREAT', key, param + GRACE)
        st.used = st.used + take
      elseif kind == 'r' then
        redis.call('HINCRBY', key, tostring(st.today), take)
        if #st.stale > 0 then
          redis.call('HDEL', key, unpack(st.stale))
        end
        redis.call('PEXPIREAT', key, (st.today + param) * DAY)
        st.live[#st.live + 1] = { st.today, take }
        st.used = st.used + take
      elseif kind == 'f' then
        redis.call('ZADD', key, now + param, call_id)
        if redis.call('PTTL', key) < param then
          redis.call('PEXPIRE', key, param)
        end
        st.used = redis.call('ZCARD', key)
      end
    end
  end
end

local reply = { 1, now, refused, retry_after, exceeds }
if refused ~= 0 then
  reply[1] = 0
end
for i = 1, n_counters do
  local st = states[i]
  local reset = 0
  if st.kind == 's' then
    local to_end = st.param - st.into
    if st.cur > 0 then
      reset = to_end + st.param
    elseif st.prev > 0 then
      reset = to_end
    end
  elseif st.kind == 'p' then
    reset = math.max(st.param - now, 0)
  elseif st.kind == 'r' then
    local newest = nil
    for _, it in ipairs(st.live) do
      if newest == nil or it[1] > newest then
        newest = it[1]
      end
    end
    if newest ~= nil then
      reset = (newest + st.param) * DAY - now
    end
  elseif st.kind == 'f' then
    local last = redis.call('ZRANGE', st.key, -1, -1, 'WITHSCORES')
    if last[2] ~= nil then
      reset = math.max(tonumber(last[2]) - now, 0)
    end
  end
  local remaining = st.limit - st.used
  if remaining < 0 then
    remaining = 0
  end
  reply[#reply + 1] = st.used
  reply[#reply + 1] = remaining
  reply[#reply + 1] = reset
  reply[#reply + 1] = st.bucket
end
return reply
