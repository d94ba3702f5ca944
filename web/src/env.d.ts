/// <reference types="vite/client" />

declare module 'virtual:ridgeline-studies' {
  const studies: import('./studies.js').CommittedStudy[];
  export default studies;
}
