// A plain webpack 5 production build: no loaders, no plugins, no asset rules.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './src/webpack-main.js',
  output: { path: fileURLToPath(new URL('./dist-webpack', import.meta.url)), clean: true },
};
