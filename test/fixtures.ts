import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A minimal EXIF block (TIFF header + an IFD) carrying GPS-looking text, as cameras write it. */
export function exifPayload(): Buffer {
  const tiff = Buffer.from('MM\x00\x2a\x00\x00\x00\x08\x00\x01\x88\x25\x00\x04\x00\x00\x00\x01\x00\x00\x00\x1a\x00\x00\x00\x00', 'latin1');
  return Buffer.concat([tiff, Buffer.from('GPSLatitude 31.2304N GPSLongitude 121.4737E Model PhoneX', 'latin1')]);
}

/** A real 2×2 RGB PNG carrying an eXIf chunk and a tEXt chunk with a location. */
export function pngWithMetadata(): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('eXIf', exifPayload()),
    chunk('tEXt', Buffer.from('Comment\x00GPS 31.2304,121.4737 taken by reporter', 'latin1')),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Puts an APP1 Exif segment right after a JPEG's SOI marker, as a phone camera does. */
export function withExif(jpeg: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\x00\x00', 'latin1'), exifPayload()]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, body, jpeg.subarray(2)]);
}
