/// The text `hasskit eval` scores by default: about three thousand tokens of prose, dialogue,
/// code, numbers and lists, written for hasskit (no licence questions), varied enough that a
/// quantization's losses show in more than one kind of text.
enum EvalText {
    static let text = """
        The lighthouse keeper kept two logs. The first was the official one, ruled in blue, where \
        she wrote the wind's direction every four hours, the state of the sea, the visibility, the \
        ships that passed and the hours the lamp burned. The second was a school exercise book with \
        a torn cover, and in it she wrote everything else: the seal that slept on the landing stage \
        for three days in March, the smell of the paraffin store after rain, the arguments she had \
        with herself about whether the fog signal should sound a second earlier in the cycle. When \
        the inspectors came each autumn they read the first log carefully and never asked about the \
        second, and she never offered it.

        Nobody had told her, when she took the post, how much of the work would be arithmetic. The \
        lamp turned once every twenty seconds, so it made 4,320 turns in a day, 30,240 in a week and \
        a little over 1.5 million in a year. The clockwork that drove it had to be wound every three \
        hours and forty minutes, which did not divide a day evenly, so the times of winding crept \
        around the clock and came back to where they started only after eleven days. She worked out \
        the table once, on the back of a tide chart, and pinned it above the stove.

        "You could automate all of this," her nephew said on his first visit. He was seventeen and \
        had brought a laptop, which he set on the kitchen table next to the paraffin lamp as if the \
        two objects had nothing to say to each other.

        "Somebody will," she said. "Not you, and not this year."

        "Why not this year?"

        "Because the money for it was spent on the new pier, and the pier is already cracking."

        He laughed, and then he looked at the crack in the pier through the window and stopped \
        laughing, because it was a large crack.

        That evening he wrote a small program to print her winding table, to show her how it could \
        be done:

            def winding_times(start_minutes, interval=220, days=11):
                times = []
                t = start_minutes
                while t < days * 24 * 60:
                    times.append(t)
                    t += interval
                return [(t // (24 * 60), (t % (24 * 60)) // 60, t % 60) for t in times]

            for day, hour, minute in winding_times(6 * 60):
                print(f"day {day + 1:2d}  {hour:02d}:{minute:02d}")

        She read it over his shoulder. "Two hundred and twenty is right," she said. "But you have \
        the first winding at six. I start at a quarter past five in winter, because that is when \
        the light goes, and the first one matters most."

        He changed the six to a quarter past five, and the table it printed was the table on the \
        wall, line for line, and he was more pleased about that than about anything the program \
        did.

        A short list of what a keeper needed, according to the regulations of 1931, which nobody \
        had withdrawn:

        1. One telescope, brass, with a cap for the objective lens.
        2. Two lamps of the approved pattern, one in use and one in reserve.
        3. Forty gallons of paraffin, stored at least thirty feet from the tower.
        4. A barometer, to be read at 6 a.m., noon, 6 p.m. and midnight.
        5. A copy of the signal book, and a pencil with which to correct it.

        The pencil was her favourite item. It implied that the signal book would be wrong and that \
        the keeper would know better, and in her experience both of those things were true.

        In the spring the engineers came to survey the tower for the automatic light. There were \
        three of them, and they measured everything twice. They measured the height of the gallery \
        (forty-one metres above mean high water), the diameter of the lantern room (3.2 metres), the \
        thickness of the walls at the base (1.8 metres, tapering to 0.9 at the top) and the distance \
        from the tower to the nearest point where a cable could come ashore, which turned out to be \
        the main difficulty. The sea bed on the western side was rock; on the eastern side it was \
        sand that moved with every storm.

        "The cable would be buried in the sand," said the youngest engineer, "and the sand would \
        uncover it again by Christmas."

        "So you run it over the rock," said the oldest.

        "Over the rock it chafes through in two winters."

        "Then we armour it."

        "Armoured cable costs four times as much per metre, and it is eleven hundred metres."

        They looked at each other, and then all three of them looked at the keeper, as if she \
        might have a cable hidden somewhere. She made them tea instead. It was the kind of problem \
        that did not get solved in one visit, and she had learned not to interrupt those.

        The nephew came back in the summer with a better program. This one read the barometer \
        through a sensor he had bought with his own money, and it logged the pressure every minute \
        to a file:

            import csv, time

            def log_pressure(read_sensor, path, minutes):
                with open(path, "a", newline="") as f:
                    writer = csv.writer(f)
                    for _ in range(minutes):
                        writer.writerow([time.strftime("%Y-%m-%d %H:%M"), f"{read_sensor():.1f}"])
                        f.flush()
                        time.sleep(60)

        In the first week it recorded a fall from 1021.4 hectopascals to 996.8 over thirty hours, \
        and she went through the old official logs and found that every fall of more than twenty \
        hectopascals in a day and a half had been followed by a gale within the next day. Of the \
        fourteen such falls since 1974, thirteen had brought a gale. The fourteenth had brought a \
        fog so thick that the signal sounded for nineteen hours without a break.

        "That's a pattern," the nephew said.

        "That's weather," she said. "Patterns are what weather does when it wants you to trust it."

        But she copied the numbers into the second log, the exercise book, and underneath them she \
        wrote: thirteen out of fourteen is 92.9 per cent, and I would not cross the bay on those \
        odds, but I would tell the fishing boats.

        The decision about the automatic light came in a letter in October. The cable would go \
        over the rock, armoured, and the work would take two summers. The keeper would stay until \
        the light was commissioned and then be offered a post on the mainland, in the office that \
        monitored all the automatic lights on that stretch of coast, forty-three of them, through \
        screens.

        She read the letter twice, put it in the second log between two pages about the seal, and \
        went up to wind the clockwork, because it was a quarter to nine and the table on the wall \
        said so.

        On the last night, two summers later, the nephew came out on the supply boat. He was \
        nineteen now and studying electrical engineering, which surprised nobody except him. They \
        sat on the gallery while the old lamp turned for the last time, once every twenty seconds, \
        4,320 times a day, and out at sea a container ship went past, its own lights steady, its \
        crew probably asleep.

        "Will you miss it?" he asked.

        She thought about the question properly, which was how she thought about all questions. \
        "I will miss knowing exactly what it is doing," she said. "On a screen I will know what it \
        reports. That is not the same thing. A report is a story the machine tells about itself."

        "The sensors are good."

        "The sensors are very good. So was the signal book, and it still needed a pencil."

        At midnight the new light came on from the control room forty miles away, and for twenty \
        seconds both lights turned together, the old beam and the new one sweeping across the same \
        water a little out of step, and then she went down and stopped the clockwork, and the old \
        lamp slowed and stood still, pointing out to sea.

        Table of the light's characteristics, as entered in the final official log:

            Character:       Fl W 20s (one white flash every twenty seconds)
            Height:          41 m above MHWS
            Range:           18 nautical miles
            Fog signal:      Horn (2) 60s
            Established:     1887
            Automated:       the night recorded above

        In the exercise book, under the last entry, she wrote only the time, 00:00, and a drawing \
        of the seal.
        """
}
