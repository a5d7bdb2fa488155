<?php
declare(strict_types=1);

namespace Convtrack;

/** A merchant setting is invalid (raised by the Tracker constructor). */
class SettingsException extends ConvtrackException
{
}
