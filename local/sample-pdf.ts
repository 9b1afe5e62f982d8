/**
 * Small but valid PDF files for the demo's sample drawings and reports, generated on the fly so
 * that the repository carries no binaries and each sample has distinct bytes (and checksum).
 */

/** A one-page PDF showing `lines` of text; the cross-reference table has correct offsets. */
export function samplePdf(title: string, lines: readonly string[]): Buffer {
  const textOps = [title, ...lines]
    .map((line, i) => `BT /F1 ${i === 0 ? 18 : 11} Tf 56 ${780 - i * 22} Td (${pdfString(line)}) Tj ET`)
    .join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(textOps, 'latin1')} >>\nstream\n${textOps}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${pdfString(title)}) /Producer (ibinder-ingest-pipeline demo) >>`,
  ];
  let body = '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xrefOffset = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  body += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** Escapes a PDF literal string; characters outside Latin-1 become `?` (Helvetica has no glyphs). */
function pdfString(text: string): string {
  return [...text]
    .map((c) => (c.charCodeAt(0) > 0xff ? '?' : c))
    .join('')
    .replace(/[\\()]/g, (c) => `\\${c}`);
}
