// twitchlog: clip-on case for build B (a Seeed XIAO ESP32-C6, -S3 or -C3 + LiPo + button + LED).
//
// Three printed parts: the shell (the cell lies on its floor, a strap clip
// on the back, two screw bosses at the far end), the plate (lies on the cell
// and carries the XIAO and the button, spreading a press over the whole
// cell), and the lid (button and LED windows, two M2 screws).  All sizes in
// mm; change the parameters to fit your parts.
//
//   openscad -o shell.stl -D 'part="shell"' -D 'board="xiao-esp32c6"' case.scad
//   openscad -o plate.stl -D 'part="plate"' -D 'board="xiao-esp32c6"' case.scad
//   openscad -o lid.stl   -D 'part="lid"'   -D 'board="xiao-esp32c6"' case.scad
//
// Print flat side down (the lid upside down), PETG or PLA, 0.2 mm layers, no
// supports.  Stack: cell, Kapton, plate, XIAO (USB-C to the opening) and
// button on the plate, LED through its lid hole, lid.  The S3's antenna lies
// flat against the inside of the lid.

part = "all";           // "shell", "plate", "lid" or "all" (laid out side by side)
board = "xiao-esp32c6"; // the board profile: "xiao-esp32c6", "xiao-esp32s3" or "xiao-esp32c3"

// ---- the parts inside
// The three XIAOs share the outline (Seeed gives 21 x 17.5 mm; 17.8 mm here
// leaves room for the castellated edges) and the USB-C position; what differs
// is what stands on top of the board.  Per board: the height of the tallest
// part above the PCB's underside, and what the case must add above it.
//   C3, C6: PCB + RF shield, 3.6 mm (measured on the C3; the C6's shield and
//           its unused U.FL receptacle stay under it: check yours);
//   S3:     the U.FL plug of its antenna mated on the board, ~2.5 mm above the
//           PCB (the U.FL series' mated height) + 1 mm PCB + the 1.13 mm cable
//           bending over it: 4.6 mm, plus 0.3 mm for the antenna stuck flat
//           inside the lid.  Estimates: measure the plugged-in board.
xiao_boards = [
    // [profile,        length, width, height, above]
    ["xiao-esp32c6",    21.0,   17.8,  3.6,    0.0],
    ["xiao-esp32s3",    21.0,   17.8,  4.6,    0.3],
    ["xiao-esp32c3",    21.0,   17.8,  3.6,    0.0],
];
xiao = xiao_boards[search([board], xiao_boards)[0]];
assert(xiao[0] == board, str("unknown board ", board, ": xiao-esp32c6, xiao-esp32s3 or xiao-esp32c3"));
xiao_l = xiao[1];       // USB-C end to the far end
xiao_w = xiao[2];
xiao_h = xiao[3] + xiao[4];
xiao_body_h = 3.6;      // PCB + shield, where the USB-C receptacle sits: the same on all three
usb_w = 9.4;            // USB-C receptacle, plus plug clearance below
usb_h = 3.4;
lipo_l = 35.0;          // "502535" cell, about 400 mAh
lipo_w = 25.0;
lipo_h = 5.2;
button = 6.2;           // 6 x 6 mm tactile switch body, 7 mm tall overall
button_h = 3.5;         // body height; its 3.5 mm actuator pokes through the lid
actuator_d = 3.8;       // round actuator
led_d = 3.2;            // 3 mm LED, shows through the lid

// ---- the case
wall = 1.6;
floor_t = 1.2;
lid_t = 1.6;
clearance = 0.4;        // per side, for parts that drop in
plate_t = 1.0;          // the plate between the cell and the electronics
screw_d = 2.2;          // M2 clearance in the lid
pilot_d = 1.7;          // M2 thread-forming pilot in the shell
boss_d = 5.0;
clip_w = 14.0;          // strap clip on the back
clip_l = 30.0;
clip_gap = 2.6;         // fits a watch strap or a waistband
clip_t = 1.8;

$fn = 40;

// Cavity: the cell's footprint plus room for the screw bosses at the far
// end (outside the cell), tall enough for the cell, plate, board and button.
cell_l = max(lipo_l, xiao_l + button + 4) + 2 * clearance;
cav_l = cell_l + boss_d + 0.6;
cav_w = max(lipo_w, xiao_w) + 2 * clearance;
upper_h = max(xiao_h, button_h) + 0.6;
cav_h = lipo_h + plate_t + upper_h;
out_l = cav_l + 2 * wall;
out_w = cav_w + 2 * wall;
out_h = floor_t + cav_h;

board_z = floor_t + lipo_h + plate_t;              // underside of the XIAO
button_x = wall + clearance + xiao_l + 2 + button / 2;  // beside the XIAO, away from USB
button_y = out_w / 2;
led_x = button_x;
led_y = button_y + button / 2 + led_d;             // just beside the button
boss_x = wall + cell_l + 0.6 + boss_d / 2;
boss_xy = [[boss_x, wall + boss_d / 2], [boss_x, out_w - wall - boss_d / 2]];

module rounded_box(l, w, h, r = 2) {
    hull() for (x = [r, l - r], y = [r, w - r]) translate([x, y, 0]) cylinder(r = r, h = h);
}

module shell() {
    difference() {
        union() {
            rounded_box(out_l, out_w, out_h);
            clip();
        }
        // the cavity
        translate([wall, wall, floor_t]) cube([cav_l, cav_w, cav_h + 1]);
        // USB-C opening at x = 0, centred on the board's connector
        translate([-1, out_w / 2 - usb_w / 2, board_z + xiao_body_h / 2 - usb_h / 2 - 0.4])
            cube([wall + 2, usb_w, usb_h + 1.2]);
    }
    // screw bosses at the far end, beyond the cell, joined to the end wall
    for (p = boss_xy)
        translate([p[0], p[1], floor_t - 0.01])
            difference() {
                union() {
                    cylinder(d = boss_d, h = cav_h - 0.2);
                    translate([0, -boss_d / 2 - 0.3, 0]) cube([boss_d / 2 + 0.7, boss_d + 0.6, cav_h - 0.2]);
                }
                translate([0, 0, 1]) cylinder(d = pilot_d, h = cav_h);
            }
}

// Strap clip: a tongue joined to the back at one end, free at the other,
// with a small ridge that keeps the strap from sliding out.
module clip() {
    x0 = (out_l - clip_l) / 2;
    y0 = (out_w - clip_w) / 2;
    translate([x0, y0, -clip_gap - clip_t]) {
        cube([clip_l, clip_w, clip_t]);                      // tongue
        cube([4, clip_w, clip_gap + clip_t + 0.01]);         // root, joined to the floor
        translate([clip_l - 2, 0, clip_t]) cube([2, clip_w, 0.8]);  // retaining ridge
    }
}

// The plate: lies on the cell, under the XIAO and the button; a low rim
// keeps the board from sliding and two notches let the cell wires pass.
module plate() {
    pl = cell_l - 2 * clearance;
    pw = cav_w - 2 * clearance;
    difference() {
        union() {
            cube([pl, pw, plate_t]);
            // rim around the XIAO on three sides (open at the USB end)
            translate([0, (pw - xiao_w) / 2 - 1.2 - clearance, 0]) cube([xiao_l + clearance + 1.2, 1.2, plate_t + 1.2]);
            translate([0, (pw + xiao_w) / 2 + clearance, 0]) cube([xiao_l + clearance + 1.2, 1.2, plate_t + 1.2]);
            translate([xiao_l + clearance, (pw - xiao_w) / 2 - clearance, 0]) cube([1.2, xiao_w + 2 * clearance, plate_t + 1.2]);
            // socket for the button body
            translate([button_x - wall - clearance - button / 2 - 1, button_y - wall - clearance - button / 2 - 1, 0])
                difference() {
                    cube([button + 2, button + 2, plate_t + 1.2]);
                    translate([1, 1, plate_t]) cube([button, button, 2]);
                }
        }
        for (y = [1, pw - 5]) translate([pl - 4, y, -1]) cube([5, 4, plate_t + 4]);  // wire notches
    }
}

module lid() {
    difference() {
        union() {
            rounded_box(out_l, out_w, lid_t);
            // locating lip that drops inside the walls
            translate([wall + clearance, wall + clearance, lid_t - 0.01])
                difference() {
                    cube([cav_l - 2 * clearance, cav_w - 2 * clearance, 1.2]);
                    translate([1, 1, -1]) cube([cav_l - 2 * clearance - 2, cav_w - 2 * clearance - 2, 3.4]);
                }
        }
        translate([button_x, button_y, -1]) cylinder(d = actuator_d + 2 * clearance, h = lid_t + 4);
        translate([led_x, led_y, -1]) cylinder(d = led_d + clearance, h = lid_t + 4);
        for (p = boss_xy) translate([p[0], p[1], -1]) cylinder(d = screw_d, h = lid_t + 4);
        // notches in the lip where the bosses are
        for (p = boss_xy) translate([p[0], p[1], lid_t - 0.01]) cylinder(d = boss_d + 2 * clearance, h = 2);
    }
}

if (part == "shell") {
    shell();
} else if (part == "plate") {
    plate();
} else if (part == "lid") {
    lid();
} else {
    shell();
    translate([0, out_w + 10, 0]) plate();
    translate([0, 2 * (out_w + 10), 0]) lid();
}

echo(str(board, " outside: ", out_l, " x ", out_w, " x ", out_h + lid_t, " mm (+ clip ", clip_gap + clip_t, " mm)"));
