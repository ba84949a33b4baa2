// The "Camera" control: frames from the camera (getUserMedia), classified one at a time while
// it is on. A frame goes to the worker as raw RGBA pixels (no encoding), and the next frame
// is taken only when its answer is back, so a slow network never builds a queue: the frame
// rate shown is the rate the network keeps up with.

// Frames are scaled down to this many pixels on their longer side before they are sent:
// the network sees 299x299 (or less), and 640 keeps the transfer and the resize small.
const MAX_SIDE = 640;
// The frame rate is measured over this many latest frames.
const RATE_WINDOW = 5;

/** What a failed getUserMedia means to a visitor. */
export function cameraError(e) {
  switch (e?.name) {
    case "NotAllowedError":
      return "Camera permission was refused. Allow the camera for this site in the browser's settings, then try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device.";
    case "NotReadableError":
    case "AbortError":
      return "The camera could not be started: another application may be using it.";
    case "SecurityError":
      return "The camera is blocked on this page (it needs https or localhost).";
    default:
      return `The camera could not be started: ${e?.message ?? e}`;
  }
}

export class Camera {
  /**
   * `video`: the element that plays the stream (hidden: the card shows each frame).
   * `classifyFrame(imageData)`: resolves to the worker's answer (`{type: "result", result}`
   * or `{type: "error", message}`), or null when there are no weights to run yet.
   * `onFrame(answer, bitmap, rate)`: one answered frame, the frame itself, frames per second.
   * `onStatus(text, isError)`: the control's state in words.
   */
  constructor({ video, classifyFrame, onFrame, onStatus }) {
    Object.assign(this, { video, classifyFrame, onFrame, onStatus });
    this.stream = null;
    this.canvas = document.createElement("canvas");
  }

  get on() {
    return this.stream !== null;
  }

  async start() {
    if (this.on || this.starting) return;
    this.starting = true;
    try {
      await this.open();
    } finally {
      this.starting = false;
    }
  }

  async open() {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.onStatus("This browser gives this page no camera (it needs https or localhost, and a browser with getUserMedia).", true);
      return;
    }
    this.onStatus("Asking for the camera…");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
      });
    } catch (e) {
      this.onStatus(cameraError(e), true);
      return;
    }
    this.stream = stream;
    // A camera unplugged, or switched off by the system, ends its track.
    for (const track of stream.getVideoTracks()) {
      track.addEventListener("ended", () => this.stop("The camera stopped (it was disconnected or switched off)."));
    }
    this.video.srcObject = stream;
    try {
      await this.video.play();
    } catch (e) {
      this.stop(cameraError(e), true);
      return;
    }
    this.onStatus("Camera on: classifying frames…");
    this.run(stream);
  }

  /** Stops the camera (its light goes off) and says why, if given a reason. */
  stop(reason = "Camera off.", isError = false) {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.pause();
    this.video.srcObject = null;
    this.onStatus(reason, isError);
  }

  async run(stream) {
    const times = [];
    while (this.stream === stream) {
      const frame = this.grab();
      if (!frame) {
        await nextFrame(this.video);
        continue;
      }
      const bitmap = await createImageBitmap(this.canvas);
      const answer = await this.classifyFrame(frame);
      if (this.stream !== stream || answer === null) bitmap.close();
      if (this.stream !== stream) break;
      if (answer === null) {
        this.onStatus("Camera on: waiting for weights…");
        await new Promise((ok) => setTimeout(ok, 250));
        continue;
      }
      times.push(performance.now());
      if (times.length > RATE_WINDOW) times.shift();
      const rate = times.length > 1 ? (1000 * (times.length - 1)) / (times.at(-1) - times[0]) : null;
      this.onFrame(answer, bitmap, rate);
      this.onStatus(rate === null ? "Camera on." : `Camera on: ${rate.toFixed(1)} frames/s classified.`);
    }
  }

  /** The current frame as RGBA pixels, at most MAX_SIDE on its longer side; null before the first. */
  grab() {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) return null;
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    const [cw, ch] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
    this.canvas.width = cw;
    this.canvas.height = ch;
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(this.video, 0, 0, cw, ch);
    return ctx.getImageData(0, 0, cw, ch);
  }
}

// The next decoded frame, or 200 ms, whichever comes first (a stopped video has no next frame).
const nextFrame = (video) => new Promise((ok) => {
  video.requestVideoFrameCallback?.(() => ok());
  setTimeout(ok, 200);
});
