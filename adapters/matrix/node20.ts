/**
 * matrix-js-sdk 43 targets Node 22 and calls `Promise.withResolvers` (ES2024) when it sends,
 * uploads and reconnects; Node 20 lacks it. This standard-conforming stand-in lets the SDK run on
 * Node 20 too, and does nothing where the runtime has its own.
 */
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
export {};
