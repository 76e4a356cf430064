export declare const READING_DOC: string;
export declare const DOC_BUCKET_URL: string;
/** The SQL of the named recipe in docs/reading.md, without its trailing semicolon. */
export declare function recipeSql(name: string, markdown?: string): string;
/** The recipe with the example bucket replaced by a directory holding a copy of a bucket. */
export declare function localRecipe(name: string, bucketDir: string, markdown?: string): string;
