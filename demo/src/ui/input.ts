// Every way a file reaches the page: the two pickers, drag and drop (anywhere on
// the page, or on the checkpoint zone), and paste. Images go to onImage; anything
// else dropped is taken for a checkpoint (onCheckpoint decides if it is one).
export interface InputHandlers {
  onImage(file: File): void;
  onCheckpoint(file: File): void;
}

export interface InputElements {
  stage: HTMLElement;
  chooseImage: HTMLButtonElement;
  fileInput: HTMLInputElement;
  ckptDrop: HTMLElement;
  ckptInput: HTMLInputElement;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;

export function isImageFile(f: File): boolean {
  return f.type.startsWith('image/') || IMAGE_EXT.test(f.name);
}

/** Enter or Space on a focusable zone acts like a click (role="button" elements). */
function pressable(el: HTMLElement, action: () => void): void {
  el.addEventListener('click', action);
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      action();
    }
  });
}

function firstFile(list: FileList | null | undefined): File | undefined {
  return list && list.length ? list[0] : undefined;
}

export function setupInput(el: InputElements, h: InputHandlers): void {
  const pickImage = () => el.fileInput.click();
  el.chooseImage.addEventListener('click', pickImage);
  pressable(el.stage, () => {
    // The stage is a picker only while it shows no camera and no notice.
    if (el.stage.dataset.mode === 'image') pickImage();
  });
  el.fileInput.addEventListener('change', () => {
    const f = firstFile(el.fileInput.files);
    if (f) h.onImage(f);
    el.fileInput.value = ''; // choosing the same file again fires change again
  });
  pressable(el.ckptDrop, () => el.ckptInput.click());
  el.ckptInput.addEventListener('change', () => {
    const f = firstFile(el.ckptInput.files);
    if (f) h.onCheckpoint(f);
    el.ckptInput.value = '';
  });

  // Drag and drop anywhere: dragenter/leave pairs nest over child elements, so
  // count them to know when the pointer has really left the window.
  let depth = 0;
  const hasFiles = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes('Files'));
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    document.body.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove('dragging');
  });
  window.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // allows the drop
    e.dataTransfer!.dropEffect = 'copy';
    el.ckptDrop.classList.toggle('over', el.ckptDrop.contains(e.target as Node));
  });
  window.addEventListener('drop', (e) => {
    depth = 0;
    document.body.classList.remove('dragging');
    el.ckptDrop.classList.remove('over');
    const f = firstFile(e.dataTransfer?.files);
    if (!f) return;
    e.preventDefault();
    const onZone = el.ckptDrop.contains(e.target as Node);
    if (!onZone && isImageFile(f)) h.onImage(f);
    else h.onCheckpoint(f);
  });

  // Paste: an image copied from another page or a screenshot tool.
  window.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    const img = files.find(isImageFile);
    if (img) {
      e.preventDefault();
      h.onImage(img);
    }
  });
}
