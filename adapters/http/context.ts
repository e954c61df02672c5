/** What the API's key check leaves on each request's context for the routes. */
import type { Reader } from '../../src/adapter.js';

export type HttpEnv = {
  Variables: {
    /** The key's user: HTTP conversations are theirs (`http:<user>:<name>`), and they act as this id. */
    user: string;
    /** What the key may read (an admin: everything). */
    reader: Reader;
  };
};
