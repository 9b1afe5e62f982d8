/**
 * One spelling of every name. macOS writes "å" decomposed (NFD: "a" + combining ring), Windows
 * and most keyboards composed (NFC): the same name, different code points. Keys, file names,
 * folder names, tag values and configured prefixes and paths are compared and committed in NFC,
 * so that both spellings land in the same folder and the same document.
 */

/** The NFC form of `text`. */
export function nfc(text: string): string {
  return text.normalize('NFC');
}
