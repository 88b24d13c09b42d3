import { describe, expect, it } from "vitest";
import { canSee, homeFor, navFor, screenForShortcut } from "./nav";

const screens = (r: Parameters<typeof navFor>[0]) => navFor(r).map((i) => i.screen);

describe("nav by role", () => {
  it("shows owners and managers everything", () => {
    const all = ["dashboard", "events", "boxoffice", "orders", "door", "reports", "settings"];
    expect(screens("owner")).toEqual(all);
    expect(screens("manager")).toEqual(all);
  });

  it("shows the box office sales, orders, the door and its reports", () => {
    expect(screens("box_office")).toEqual(["boxoffice", "orders", "door", "reports"]);
    expect(canSee("box_office", "settings")).toBe(false);
    expect(homeFor("box_office")).toBe("boxoffice");
  });

  it("shows door staff only the door", () => {
    expect(screens("door")).toEqual(["door"]);
    expect(canSee("door", "orders")).toBe(false);
    expect(canSee("door", "reports")).toBe(false);
    expect(homeFor("door")).toBe("door");
  });

  it("maps Alt+number to the visible screens in order", () => {
    expect(screenForShortcut("owner", "1")).toBe("dashboard");
    expect(screenForShortcut("owner", "6")).toBe("reports");
    expect(screenForShortcut("owner", "7")).toBe("settings");
    expect(screenForShortcut("owner", "8")).toBeNull();
    expect(screenForShortcut("box_office", "1")).toBe("boxoffice");
    expect(screenForShortcut("box_office", "4")).toBe("reports");
    expect(screenForShortcut("box_office", "5")).toBeNull();
    expect(screenForShortcut("door", "1")).toBe("door");
    expect(screenForShortcut("owner", "x")).toBeNull();
  });
});
