-- sieve.lua: 100 rounds of the sieve of Eratosthenes below 60000 (bench/vm; same as sieve.pxasm)
local m = {}
local count = 0
for round = 1, 100 do
  for i = 2, 59999 do m[i] = 0 end
  count = 0
  local i = 2
  while i < 60000 do
    if m[i] == 0 then
      count = count + 1
      local j = i < 245 and i * i or 60000
      while j < 60000 do m[j] = 1; j = j + i end
    end
    i = i + 1
  end
end
print(count)
