export function trainView(root: HTMLElement): void { root.append("todo"); }
