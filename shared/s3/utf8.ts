/**
 * S3 counts key lengths in UTF-8 bytes (1,024 at most), and a local file system counts file
 * names the same way (255), so shortening a key or a name must count bytes, never split a
 * character, and give the same start for the same text every time.
 */

/** The longest start of `text` that is at most `maxBytes` in UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
