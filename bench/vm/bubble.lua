-- bubble.lua: bubble sort of 3000 pseudo-random numbers, then a checksum (bench/vm; same as bubble.pxasm)
local m, x = {}, 12345
for i = 0, 2999 do
  x = (x * 75 + 74) % 65537
  m[i] = x % 100000
end
for i = 2999, 1, -1 do
  for j = 0, i - 1 do
    local a, b = m[j], m[j + 1]
    if a > b then m[j], m[j + 1] = b, a end
  end
end
local s = 0
for i = 0, 2999 do s = (s * 31 + m[i]) % 1000003 end
print(s)
