/**
 * The part of node-lz4 (`lz4` on npm, a CommonJS native addon without type definitions) that Strata
 * uses. `compression.ts` parses and writes the LZ4 frame itself and calls only the block functions
 * and xxHash32; `encode`/`decode` (node-lz4's own frame codec) are declared for the tests that
 * cross-check against it.
 *
 * Block functions follow LZ4's C API: `encodeBlock(src, dst)` is LZ4_compress_default into all of
 * `dst` and returns the compressed size, or 0 when it does not fit; `decodeBlock(src, dst)` is
 * LZ4_decompress_safe into all of `dst` and returns the decompressed size, or a negative number when
 * the input is malformed or `dst` is too small. Both take the whole of each buffer, so callers pass
 * `subarray` views. xxHash32 returns its result as a signed int32 on some builds: apply `>>> 0`.
 */
declare module 'lz4' {
  interface Lz4FrameOptions {
    blockIndependence?: boolean;
    blockChecksum?: boolean;
    blockMaxSize?: number;
    streamSize?: boolean;
    streamChecksum?: boolean;
    highCompression?: boolean;
  }
  interface Lz4Module {
    encode(input: Uint8Array, options?: Lz4FrameOptions): Buffer;
    decode(input: Uint8Array): Buffer;
    encodeBound(inputBytes: number): number;
    encodeBlock(src: Uint8Array, dst: Uint8Array): number;
    decodeBlock(src: Uint8Array, dst: Uint8Array): number;
    utils: {
      /** xxHash32 with seed 0. */
      blockChecksum(bytes: Uint8Array): number;
    };
  }
  const lz4: Lz4Module;
  export default lz4;
}
