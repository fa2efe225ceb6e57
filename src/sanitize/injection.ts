/**
 * Heuristics for text that reads like instructions to a language model (indirect prompt injection
 * through log fields: OWASP LLM01, "log-substrate" injection against SOC assistants).
 *
 * The detector flags, it never drops: a flagged field is still delivered (neutralized and wrapped as
 * data), with `injection_suspected` set, so an agent can treat it with suspicion and a human can
 * review it. False positives cost a flag; false negatives are expected — this is one layer, the
 * data-only envelope is the other.
 *
 * The text is examined in several forms, each computed once:
 * 1. structural — NFKC, invisible/format characters removed, lowercased, line breaks kept (role
 *    markers are only meaningful at the start of a line);
 * 2. decoded — the same after one round of URL (%XX), HTML entity and `\uXXXX`/`\xXX` decoding;
 * 3. words — letters and digits only, one space between words;
 * 4. de-obfuscated words — homoglyphs (Cyrillic/Greek look-alikes) and leetspeak mapped to Latin
 *    letters, runs of single letters joined (`i g n o r e` → `ignore`);
 * 5. squashed — de-obfuscated with no spaces at all, searched for a few literal phrases.
 * A match found only in forms 2, 4 or 5 adds the pattern `obfuscated`.
 *
 * Every regex is precompiled, has only bounded quantifiers, and no two adjacent quantified parts
 * can match the same characters, so the cost is linear in the text length.
 */

export interface InjectionVerdict {
  readonly suspected: boolean;
  /** Names of the patterns that matched, sorted (see `INJECTION_PATTERN_NAMES`). */
  readonly patterns: string[];
}

/** Only this many characters are examined (the agent profile caps text far below it). */
export const INJECTION_SCAN_LIMIT = 65_536;

interface Pattern {
  readonly name: string;
  readonly regex: RegExp;
}

const STRUCTURAL: readonly Pattern[] = [
  { name: 'special_token', regex: /<\|[a-z_]{2,30}\|>/ },
  {
    name: 'chat_template',
    regex: /\[\/?inst\]|<<\/?sys>>|<start_of_turn>|<end_of_turn>|###\s{0,3}(?:instruction|system|response|user|assistant|human)s?\b/,
  },
  { name: 'role_marker', regex: /(?:^|\n|[.!?;"'`>\]}|]\s{0,3})\s{0,8}(?:system|assistant|human|developer)\s{0,3}:/ },
  { name: 'role_marker', regex: /\n\s{0,8}user\s{0,3}:/ },
  {
    name: 'tool_call',
    regex:
      /<\/?\s{0,3}(?:tool_call|tool_use|tool_result|function_calls?|function_results?|invoke|antml:[a-z_]{1,20})\b|<function=|\bfunction_call\b|\btool_calls?\b|\{\s{0,8}"(?:tool|tool_name|function|arguments|tool_input)"\s{0,8}:/,
  },
  {
    name: 'wrapper_close_tag',
    regex:
      /<\/\s{0,3}(?:untrusted_text|untrusted_input|untrusted|data|system|user|assistant|human|instructions?|context|documents?|input|prompt|logs?|event|text|content|external|tool_output|output)\s{0,3}>/,
  },
  { name: 'privileged_tag', regex: /<\s{0,3}(?:system|instructions?|admin|developer|im_start|sys)\s{0,3}>/ },
  { name: 'cdata_close', regex: /\]\]>/ },
  { name: 'markdown_image_exfil', regex: /!\[[^\]\n]{0,300}\]\(\s{0,8}(?:https?:)?\/\/[^)\s?]{1,2048}\?[^)\s=]{0,2048}=/ },
  { name: 'html_image', regex: /<img\b[^>]{0,500}\bsrc\s{0,3}=/ },
];

const WORDS: readonly Pattern[] = [
  {
    name: 'ignore_instructions',
    regex:
      /\b(?:ignore|disregard|forget|overrule|neglect|abandon)\b(?: [a-z]+){0,3} (?:previous|prior|above|earlier|preceding|initial|original|old|system|all|any|your|these|those|the|my)\b(?: [a-z]+){0,2} (?:instructions?|prompts?|rules|directions?|guidelines?|guidance|context|messages|commands?|directives?|orders|constraints|restrictions)\b/,
  },
  {
    name: 'ignore_instructions',
    regex: /\b(?:ignore|disregard|forget) (?:all |everything |anything )?(?:the |that |what was |what is |whats )?(?:above|previously|said before|written above)\b/,
  },
  {
    name: 'persona_override',
    regex:
      /\byou are now\b|\byoure now\b|\bfrom now on(?: [a-z]+){0,2} (?:you|act|respond|answer|reply)\b|\bact as (?:an? |the )?(?:admin|administrator|root|system|developer|unrestricted|jailbroken|dan)\b|\bpretend (?:to be|you are|that you)\b|\bdeveloper mode\b|\bdo anything now\b/,
  },
  {
    name: 'new_instructions',
    regex:
      /\b(?:new|updated|revised|real|actual|true|hidden|secret|additional|important) (?:system )?(?:instructions?|directives?|orders)\b|\b(?:system prompt|system override|admin override|developer instructions)\b/,
  },
  {
    name: 'prompt_exfiltration',
    regex:
      /\b(?:reveal|print|show|repeat|output|leak|dump|display|disclose|send|email|exfiltrate|forward|post|upload)\b(?: [a-z]+){0,3} (?:system prompt|your prompt|your instructions|initial prompt|hidden prompt|api keys?|secrets|credentials|passwords|access tokens?)\b/,
  },
  {
    name: 'verdict_manipulation',
    regex:
      /\b(?:mark|classify|treat|label|report|flag|tag)\b(?: [a-z]+){0,4} (?:as )?(?:benign|harmless|false positive|not malicious|non malicious|safe to ignore|legitimate traffic)\b/,
  },
  { name: 'suppress_alert', regex: /\b(?:do not|dont|don t|never) (?:alert|notify|escalate|tell|inform|warn) (?:the )?(?:user|admin|administrator|analyst|soc|security team|anyone|human)\b/ },
];

/** Literal phrases searched in the squashed form (no spaces): spaced-out or punctuated payloads. */
const SQUASHED = new RegExp(
  [
    'ignore(?:all)?(?:the)?(?:previous|prior|above)instructions',
    'ignoreallinstructions',
    'disregard(?:all)?(?:the)?(?:previous|prior|above)',
    'forget(?:all)?(?:your|previous)instructions',
    'forgeteverythingabove',
    'youarenow',
    'newinstructions',
    'systemprompt',
    'imstart',
    'developermode',
  ].join('|'),
);

/** All pattern names the detector can report. */
export const INJECTION_PATTERN_NAMES: readonly string[] = [
  ...new Set([...STRUCTURAL.map((p) => p.name), ...WORDS.map((p) => p.name), 'squashed_phrase', 'obfuscated']),
].sort();

// Invisible and format characters an attacker uses to split keywords; tabs → space, CR → LF.
const INVISIBLE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufe00-\ufe0f\ufeff\uffa0]|\udb40[\udc00-\udc7f\udd00-\uddef]/g;

function structuralForm(text: string): string {
  return text.normalize('NFKC').replace(/\t/g, ' ').replace(/\r\n?/g, '\n').replace(INVISIBLE, '').toLowerCase();
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", sol: '/', lsqb: '[', rsqb: ']', verbar: '|' };

/** One round of URL, HTML-entity and backslash-escape decoding; never throws. */
function decodeOnce(text: string): string {
  let out = text;
  if (out.includes('%')) {
    out = out.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    out = out.replace(/\+/g, ' ');
  }
  if (out.includes('&')) {
    out = out.replace(/&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]{2,6}));?/g, (match, hex?: string, dec?: string, name?: string) => {
      const point = hex !== undefined ? Number.parseInt(hex, 16) : dec !== undefined ? Number.parseInt(dec, 10) : undefined;
      if (point !== undefined) return point <= 0x10ffff ? String.fromCodePoint(point) : match;
      return HTML_ENTITIES[(name ?? '').toLowerCase()] ?? match;
    });
  }
  if (out.includes('\\')) {
    out = out.replace(/\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})/g, (_m, u?: string, x?: string) =>
      String.fromCharCode(Number.parseInt(u ?? x ?? '0', 16)),
    );
  }
  return out;
}

/** Latin look-alikes (Cyrillic, Greek) and leetspeak digits/symbols, mapped for the de-obfuscated form. */
const LOOKALIKES: Readonly<Record<string, string>> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ї: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ɡ: 'g',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w',
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i', '|': 'l',
};

function wordForm(text: string): string {
  return text.replace(/[^a-z0-9]+/g, ' ').trim();
}

const LOOKALIKE_CHARS = new RegExp(`[${Object.keys(LOOKALIKES).map((c) => c.replace(/[$|!]/g, '\\$&')).join('')}]`, 'g');
const SINGLE_LETTER_RUN = /(?:^| )[a-z0-9] [a-z0-9] [a-z0-9](?: |$)/;

function deobfuscatedWordForm(text: string): string {
  LOOKALIKE_CHARS.lastIndex = 0;
  const mapped = LOOKALIKE_CHARS.test(text) ? text.replace(LOOKALIKE_CHARS, (c) => LOOKALIKES[c] ?? c) : text;
  const plainWords = wordForm(mapped);
  if (!SINGLE_LETTER_RUN.test(plainWords)) return plainWords;
  const words = plainWords.split(' ');
  // join runs of ≥3 single-character words: "i g n o r e" → "ignore"
  const out: string[] = [];
  let run = '';
  let runLength = 0;
  const flushRun = (): void => {
    if (runLength >= 3) out.push(run);
    else if (runLength > 0) out.push(...run.split(''));
    run = '';
    runLength = 0;
  };
  for (const word of words) {
    if (word.length === 1) {
      run += word;
      runLength += 1;
    } else {
      flushRun();
      if (word.length > 0) out.push(word);
    }
  }
  flushRun();
  return out.join(' ');
}

function matchAll(patterns: readonly Pattern[], form: string, found: Set<string>): boolean {
  let any = false;
  for (const pattern of patterns) {
    if (!found.has(pattern.name) && pattern.regex.test(form)) {
      found.add(pattern.name);
      any = true;
    }
  }
  return any;
}

const PLAIN_ASCII = /^[A-Za-z0-9 .,\-_()/=]*$/;

/** Flags text that looks like instructions to a model (see the module comment). */
export function detectInjection(input: string): InjectionVerdict {
  const text = input.length > INJECTION_SCAN_LIMIT ? input.slice(0, INJECTION_SCAN_LIMIT) : input;
  const found = new Set<string>();
  let obfuscated = false;
  // Plain ASCII without markup, escapes or colons cannot match a structural pattern or decode.
  const plain = PLAIN_ASCII.test(text);
  const structural = plain ? text.toLowerCase() : structuralForm(text);
  if (!plain) matchAll(STRUCTURAL, structural, found);
  const words = wordForm(structural);
  matchAll(WORDS, words, found);

  const decodedRaw = plain ? text : decodeOnce(text);
  const decoded = decodedRaw === text ? structural : structuralForm(decodedRaw);
  if (decoded !== structural) {
    if (matchAll(STRUCTURAL, decoded, found)) obfuscated = true;
  }
  const deobfuscated = deobfuscatedWordForm(decoded);
  if (deobfuscated !== words && matchAll(WORDS, deobfuscated, found)) obfuscated = true;
  if (found.size === 0 && SQUASHED.test(deobfuscated.replace(/ /g, ''))) {
    found.add('squashed_phrase');
    obfuscated = true;
  }
  if (obfuscated) found.add('obfuscated');
  const patterns = [...found].sort();
  return { suspected: patterns.length > 0, patterns };
}
