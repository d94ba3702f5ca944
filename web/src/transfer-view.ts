export function transferView(root: HTMLElement): void { root.append("todo"); }
