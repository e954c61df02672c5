/**
 * Builds, from nothing but code, a sentence-embedding model that transformers.js loads through its
 * real pipeline (tokenizer.json, config.json, onnx/model.onnx): a "static embedding" model whose ONNX
 * graph looks token vectors up (Gather) and masks them, so mean pooling gives a bag-of-words vector.
 *
 * No npm package ships a MiniLM-class model, and tests cannot download one; this model makes the
 * whole path (tokenizer, onnxruntime, pooling, normalization, sqlite-vec) run for real, with crude
 * but deterministic semantics: texts sharing content words are similar, others are not.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
/** Function words get a zero vector, so they do not make unrelated texts look alike. */
const STOP = new Set(('a an the and or but if of to in on at by for with from as is are was were be been am do does did have has had ' +
  'i me my mine you your we our they their he she it its this that these those what which who whom how when where why ' +
  'not no yes so than then there here can could will would shall should may might must just also very about into over').split(' '));
const WORDS = (
  'favourite favorite colour color blue green red teal orange purple yellow black white coffee tea milk water food pizza pasta ' +
  'dog dogs cat cats pet name called live lives city london paris berlin tokyo work works job engineer developer designer ' +
  'deploy deployment script scripts server servers database postgres sqlite redis queue build test tests ci docker linux ' +
  'birthday born year month day week today tomorrow morning evening meeting project projects repo repository branch main ' +
  'prefer prefers like likes love loves hate hates use uses typescript python rust go java javascript node language languages ' +
  'book books music song songs movie movies game games sport football tennis run running bike cycling weather rain sun ' +
  'remember remind reminder note notes fact facts password login account email phone address wife husband son daughter ' +
  'friend friends team manager boss office home house car train plane travel trip holiday vacation allergic allergy peanuts ' +
  'vegetarian vegan diet doctor health sleep early late time zone timezone utc folder folders file files lives ops config ' +
  'keys key secret api token report invoice budget price cost money bank lunch dinner breakfast garden plants flower flowers'
).split(/\s+/).filter(Boolean);

export interface StaticModel {
  /** Folder to put in transformers.js's `env.localModelPath`. */
  root: string;
  /** Model id under it. */
  id: string;
  dimension: number;
}

/** Writes the model under `root/<id>` (once; later calls reuse it) and returns where it is. */
export function buildStaticModel(root: string, dimension = 64, id = 'local/static-words'): StaticModel {
  const dir = path.join(root, id);
  if (fs.existsSync(path.join(dir, 'onnx', 'model.onnx'))) return { root, id, dimension };
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const vocab = [...SPECIALS, ...STOP, ...WORDS, ...letters, ...letters.map((l) => `##${l}`)];
  const unique = [...new Set(vocab)];
  const weights = new Float32Array(unique.length * dimension);
  unique.forEach((token, row) => {
    if (SPECIALS.includes(token) || STOP.has(token)) return;
    // Whole words get full-strength vectors, word pieces faint ones (they only break ties).
    const scale = token.length > 1 && !token.startsWith('##') ? 1 : 0.15;
    const vector = seededVector(token, dimension);
    for (let d = 0; d < dimension; d++) weights[row * dimension + d] = vector[d]! * scale;
  });
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), onnxModel(weights, unique.length, dimension));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    model_type: 'bert', architectures: ['BertModel'], hidden_size: dimension, vocab_size: unique.length, max_position_embeddings: 512,
  }));
  const special = (token: string) => ({ SpecialToken: { id: token, type_id: 0 } });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null,
    added_tokens: SPECIALS.map((content, tokenId) => ({ id: tokenId, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, special('[SEP]')],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(unique.map((w, i) => [w, i])) },
  }));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({
    tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
  }));
  return { root, id, dimension };
}

/** A unit vector derived from the token alone, the same on every run. */
function seededVector(token: string, dimension: number): Float32Array {
  const out = new Float32Array(dimension);
  let counter = 0;
  let pool = Buffer.alloc(0);
  for (let d = 0; d < dimension; d++) {
    if (pool.length < 4) pool = crypto.createHash('sha256').update(`${token}:${counter++}`).digest();
    out[d] = pool.readInt32LE(0) / 2 ** 31;
    pool = pool.subarray(4);
  }
  const norm = Math.hypot(...out);
  return out.map((x) => x / norm);
}

// --- ONNX as protobuf, by hand: the handful of messages and fields this graph needs. ---

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

function onnxModel(weights: Float32Array, vocabSize: number, dimension: number): Buffer {
  const tensor = (name: string, dims: number[], type: number, raw: Buffer) =>
    message([...dims.map((d) => varintField(1, d)), varintField(2, type), stringField(8, name), bytesField(9, raw)]);
  const int64s = Buffer.alloc(8);
  int64s.writeBigInt64LE(-1n);
  const node = (op: string, inputs: string[], outputs: string[], attributes: Buffer[] = []) =>
    message([...inputs.map((i) => stringField(1, i)), ...outputs.map((o) => stringField(2, o)), stringField(4, op), ...attributes.map((a) => bytesField(5, a))]);
  const intAttribute = (name: string, value: number) => message([stringField(1, name), varintField(3, value), varintField(20, ATTRIBUTE_INT)]);
  const valueInfo = (name: string, type: number, dims: (number | string)[]) => message([
    stringField(1, name),
    bytesField(2, message([bytesField(1, message([
      varintField(1, type),
      bytesField(2, message(dims.map((d) => bytesField(1, message([typeof d === 'number' ? varintField(1, d) : stringField(2, d)]))))),
    ]))])),
  ]);
  const graph = message([
    bytesField(1, node('Gather', ['E', 'input_ids'], ['g'], [intAttribute('axis', 0)])),
    bytesField(1, node('Cast', ['attention_mask'], ['mf'], [intAttribute('to', FLOAT)])),
    bytesField(1, node('Unsqueeze', ['mf', 'axes'], ['m3'])),
    bytesField(1, node('Mul', ['g', 'm3'], ['last_hidden_state'])),
    stringField(2, 'static_embedding'),
    bytesField(5, tensor('E', [vocabSize, dimension], FLOAT, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength))),
    bytesField(5, tensor('axes', [1], INT64, int64s)),
    bytesField(11, valueInfo('input_ids', INT64, ['batch', 'sequence'])),
    bytesField(11, valueInfo('attention_mask', INT64, ['batch', 'sequence'])),
    bytesField(12, valueInfo('last_hidden_state', FLOAT, ['batch', 'sequence', dimension])),
  ]);
  return message([
    varintField(1, 8),
    stringField(2, 'cligate-test'),
    bytesField(7, graph),
    bytesField(8, message([stringField(1, ''), varintField(2, 13)])),
  ]);
}

function message(fields: Buffer[]): Buffer {
  return Buffer.concat(fields);
}

function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    bytes.push(byte);
  } while (v);
  return Buffer.from(bytes);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

function bytesField(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

function stringField(field: number, text: string): Buffer {
  return bytesField(field, Buffer.from(text, 'utf8'));
}
