// Live SMS length under every textarea with data-counter (PRODUCT.md M3): the text is
// filled with sample values and gets the unsubscribe notice, then counted the way
// recovery/messaging/sms.py counts (GSM-7 160/153, otherwise UCS-2 70/67).
(() => {
  const config = document.getElementById("sms-counter-config");
  if (!config) return;
  const sample = JSON.parse(config.dataset.sample || "{}");
  const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const GSM7_EXTENSION = "\f^{}\\[~]|€";
  const INNER = String.raw`\s*var\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*"([^"]*)"\s*)?`;
  const PLACEHOLDER = new RegExp(String.raw`\{\{${INNER}\}\}|<<${INNER}>>`, "g");

  const render = (text) =>
    text.replace(PLACEHOLDER, (_m, name1, fallback1, name2, fallback2) => {
      const name = name1 !== undefined ? name1 : name2;
      const fallback = name1 !== undefined ? fallback1 : fallback2;
      return sample[name] || fallback || "";
    });

  const withNotice = (text) => {
    const body = text.replace(/\s+$/, "");
    return body ? `${body}\n${config.dataset.notice}` : config.dataset.notice;
  };

  const pack = (units, perSegment) => {
    let count = 1;
    let room = perSegment;
    for (const size of units) {
      if (size > room) {
        count += 1;
        room = perSegment;
      }
      room -= size;
    }
    return count;
  };

  const count = (text) => {
    const chars = Array.from(text);
    const nonGsm = [...new Set(chars.filter((c) => !GSM7_BASIC.includes(c) && !GSM7_EXTENSION.includes(c)))];
    const ucs2 = nonGsm.length > 0;
    const units = chars.map((c) => (ucs2 ? (c.codePointAt(0) > 0xffff ? 2 : 1) : GSM7_EXTENSION.includes(c) ? 2 : 1));
    const [single, multi] = ucs2 ? [70, 67] : [160, 153];
    const total = units.reduce((a, b) => a + b, 0);
    const parts = total === 0 ? 0 : total <= single ? 1 : pack(units, multi);
    return { chars: total, parts, encoding: ucs2 ? "UCS-2" : "GSM-7", nonGsm };
  };

  const fill = (template, values) => template.replace(/%\((\w+)\)s/g, (_m, key) => values[key]);

  document.querySelectorAll("textarea[data-counter]").forEach((area) => {
    const output = document.getElementById(area.dataset.counter);
    if (!output) return;
    const update = () => {
      const result = count(withNotice(render(area.value.replace(/\r\n/g, "\n"))));
      let line = fill(config.dataset.template, result);
      if (result.nonGsm.length) line += ` – ${fill(config.dataset.nongsm, { chars: result.nonGsm.join(" ") })}`;
      output.textContent = line;
      output.classList.toggle("warn", result.parts > 5);
    };
    area.addEventListener("input", update);
    update();
  });
})();
