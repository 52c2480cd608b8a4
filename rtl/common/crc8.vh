// CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0, no reflection, no final XOR
// (CRC-8/SMBUS). Used by the UART register frames; see docs/register-map.md.
function automatic [7:0] crc8_byte(input [7:0] crc_in, input [7:0] data);
  integer i;
  reg [7:0] c;
  begin
    c = crc_in ^ data;
    for (i = 0; i < 8; i = i + 1) c = c[7] ? ((c << 1) ^ 8'h07) : (c << 1);
    crc8_byte = c;
  end
endfunction
