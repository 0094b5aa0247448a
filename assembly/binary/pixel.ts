// Pixel sizes of the specialized binary conv kernels (conv.ts, convWordTiles.ts):
// offsetof<T>() bytes, a compile-time constant that becomes the immediate offset of each
// load (no address arithmetic in the loop).
export class Pixel4 { a: u32 = 0; }
export class Pixel8 { a: u64 = 0; }
export class Pixel16 { a: u64 = 0; b: u64 = 0; }
export class Pixel32 { a: u64 = 0; b: u64 = 0; c: u64 = 0; d: u64 = 0; }
export class Pixel64 { a: u64 = 0; b: u64 = 0; c: u64 = 0; d: u64 = 0; e: u64 = 0; f: u64 = 0; g: u64 = 0; h: u64 = 0; }
