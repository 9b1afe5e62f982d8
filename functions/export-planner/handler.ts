// Placeholder entry point so the stack can bundle it; replaced by the function's implementation.
export const handler = async (): Promise<void> => {
  throw new Error('not implemented yet');
};
