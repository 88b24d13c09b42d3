// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { MailSettings } from "../bindings/MailSettings";
import type { SmtpInput } from "../bindings/SmtpInput";
import { MailSection } from "../screens/MailSettings";
import { byTestId, choose, click, mount, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({ getMailSettings: vi.fn(), saveMailSettings: vi.fn(), sendTestMail: vi.fn() }));
vi.mock("../api", () => ({ api: mocks }));

const worker = { housekeeping_at: null, housekeeping: null, housekeeping_error: null, mail_at: null, mail: null, mail_error: null };
const saved = (over: Partial<NonNullable<MailSettings["smtp"]>> = {}): MailSettings => ({
  smtp: {
    host: "smtp.example.org",
    port: 587,
    security: "starttls",
    username: "box",
    password_set: true,
    from_address: "tickets@example.org",
    from_name: "Town Hall",
    ...over,
  },
  worker: { ...worker, mail_at: "2026-05-01T10:00:00Z", mail: { sent: 2, retried: 0, failed: 0 } },
});

let m: Mounted | null = null;
beforeEach(() => {
  mocks.getMailSettings.mockResolvedValue({ smtp: null, worker });
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

describe("outgoing mail settings", () => {
  it("saves the server, with the password only when typed", async () => {
    mocks.saveMailSettings.mockImplementation(async (i: SmtpInput) => saved({ host: i.host }));
    m = await mount(createElement(MailSection));
    await until(() => mocks.getMailSettings.mock.calls.length > 0, "loaded");
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-host")!, "smtp.example.org");
    await choose(byTestId<HTMLSelectElement>(document, "smtp-security")!, "tls");
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-username")!, "box");
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-password")!, "s3cret");
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-from")!, "tickets@example.org");
    await click(byTestId(document, "smtp-save")!);
    await until(() => mocks.saveMailSettings.mock.calls.length === 1, "saved");
    expect(mocks.saveMailSettings).toHaveBeenCalledWith({
      host: "smtp.example.org",
      port: null,
      security: "tls",
      username: "box",
      password: "s3cret",
      from_address: "tickets@example.org",
      from_name: null,
    });
    await until(() => byTestId<HTMLInputElement>(document, "smtp-password")!.value === "", "password field emptied");
    expect(byTestId<HTMLInputElement>(document, "smtp-password")!.placeholder).not.toBe("");
    expect(byTestId(document, "mail-worker")!.textContent).toMatch(/2 sent/);
  });

  it("shows the app's refusal next to the field it names", async () => {
    mocks.getMailSettings.mockResolvedValue(saved());
    mocks.saveMailSettings.mockRejectedValue({ code: "invalid_input", message: "from_address: is not an e-mail address", field: "from_address" });
    m = await mount(createElement(MailSection));
    await until(() => byTestId<HTMLInputElement>(document, "smtp-host")!.value === "smtp.example.org", "filled in");
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-from")!, "nobody");
    await click(byTestId(document, "smtp-save")!);
    await until(() => mocks.saveMailSettings.mock.calls.length === 1, "save tried");
    await until(() => byTestId(document, "field-error-from_address") !== null, "field error");
    expect(byTestId(document, "field-error-from_address")!.textContent).toMatch(/not an e-mail address/);
    expect(mocks.saveMailSettings.mock.calls[0]![0]).toMatchObject({ password: null, port: 587 });
  });

  it("sends a test message with the settings as typed", async () => {
    mocks.getMailSettings.mockResolvedValue(saved());
    mocks.sendTestMail.mockResolvedValue(null);
    m = await mount(createElement(MailSection));
    await until(() => byTestId<HTMLInputElement>(document, "smtp-host")!.value === "smtp.example.org", "filled in");
    await click(byTestId(document, "smtp-test")!);
    expect(mocks.sendTestMail).not.toHaveBeenCalled();
    expect(byTestId(document, "field-error-to")).not.toBeNull();
    await typeInto(byTestId<HTMLInputElement>(document, "smtp-test-to")!, "me@example.org");
    await click(byTestId(document, "smtp-test")!);
    await until(() => byTestId(document, "smtp-test-sent") !== null, "sent");
    expect(mocks.sendTestMail.mock.calls[0]![1]).toBe("me@example.org");
  });
});
